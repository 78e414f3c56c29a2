# test_raftctl_ops.py: raftctl's operator commands against a live 5-node
# raftd cluster on loopback (tests/lib/raftdtest): status() and /metrics
# fields (version, uptime, keys, the leader's peers with their lag),
# `status --json` dumping every field, `status` exit codes as nodes go
# down (0 with a quorum, 1 without), `health` (and --quorum) with a node
# down, key completion (`raftctl __complete-keys`, the bash completion
# script, a completion in a -v shell session), and `raftctl shell` under
# a pseudo-terminal: a Left-arrow edit, history recall with Up, Tab
# completion of a command and of a key, and the history file.
import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import time
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import Cluster, wait_for  # noqa: E402

SRCDIR = os.environ.get("top_srcdir",
                        os.path.dirname(os.path.abspath(__file__)) + "/../..")


def raftctl_path():
    return rt.build_path("raftctl")


def have_libedit():
    """Whether configure built raftctl's shell with libedit."""
    path = rt.build_path("autoconfig.h")
    with open(path) as f:
        return "#define HAVE_LIBEDIT 1" in f.read()


def run(c, *args, timeout=60, env=None):
    p = subprocess.run([raftctl_path(), "-c", c.conf] + list(args),
                       text=True, capture_output=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, env=env)
    return p.returncode, p.stdout, p.stderr


def one_line(err):
    return err.count("\n") == 1


def test_status_fields(ck, c, lid):
    for k in ("user:1", "user:2", "team:x"):
        ck.eq(run(c, "put", k, "v-" + k)[0], 0, "put " + k)
    c.wait_caught_up(timeout=20)
    rc, out, err = run(c, "status", "--json")
    st = json.loads(out) if out.startswith("[") else []
    ck.check(rc == 0 and len(st) == 5, "status --json, 5 nodes: %r %r"
             % (rc, err))
    for s in st:
        ck.check(isinstance(s.get("version"), str) and s["version"] != "",
                 "node %s: version %r" % (s.get("id"), s.get("version")))
        ck.check(isinstance(s.get("uptime"), int) and s["uptime"] >= 0,
                 "node %s: uptime" % s.get("id"))
        ck.eq(s.get("keys"), 3, "node %s: keys" % s.get("id"))
        ck.check(isinstance(s.get("logBytes"), int) and s["logBytes"] > 0,
                 "node %s: logBytes %r" % (s.get("id"), s.get("logBytes")))
        ck.check(isinstance(s.get("snapshotBytes"), int) and
                 s["snapshotBytes"] >= 0, "node %s: snapshotBytes"
                 % s.get("id"))
        for k in ("elections", "leaderships", "commitIndex", "cluster",
                  "incarnation", "logSyncs"):
            ck.check(k in s, "node %s: status --json has %s (every field)"
                     % (s.get("id"), k))
        ck.eq(s.get("nodeId"), s.get("id"), "nodeId")
        if s["state"] == "leader":
            ck.check(s["leaderships"] >= 1 and s["elections"] >= 1,
                     "the leader won an election it started: %r"
                     % {k: s[k] for k in ("elections", "leaderships")})
            peers = s.get("peers")
            ck.eq(sorted(p["id"] for p in peers), sorted(
                set(c.ids()) - {s["nodeId"]}), "the leader's peers")
            for p in peers:
                ck.check(set(p) == {"id", "matchIndex", "nextIndex", "lag",
                                    "lastContactMs"},
                         "peer fields: %r" % p)
                ck.eq(p["lag"], s["lastLogIndex"] - p["matchIndex"],
                      "lag = lastLogIndex - matchIndex (peer %d)" % p["id"])
                ck.check(p["nextIndex"] > p["matchIndex"],
                         "nextIndex > matchIndex: %r" % p)
                ck.check(0 <= p["lastContactMs"] < 5000,
                         "a live peer answered recently: %r" % p)
        else:
            ck.eq(s.get("peers"), [], "a follower's peers: empty")
    # The table: a LAG column, a number on every row once caught up.
    rc, out, err = run(c, "status")
    rows = out.splitlines()
    ck.check(rc == 0 and rows and rows[0].split()[-1] == "LAG",
             "status: LAG column: %r" % out)
    ck.check(all(re.fullmatch(r"\d+", r.split()[-1]) for r in rows[1:]),
             "status: a lag on every row: %r" % out)
    # /metrics has the matching figures.
    lead = [x["nodeId"] for x in st if x.get("state") == "leader"]
    with urllib.request.urlopen("http://%s/metrics" %
                                c.address(lead[0] if lead else lid),
                                timeout=5) as r:
        text = r.read().decode()
    for name in ("raftd_uptime_seconds ", "raftd_keys 3",
                 "raftd_peer_next_index{peer=",
                 "raftd_peer_last_contact_seconds{peer=",
                 "raftd_peer_lag_entries{peer="):
        ck.check(name in text, "/metrics has %s" % name)
    # The fsync histogram's sum is the fsyncs' time (it was always 0).
    m = re.search(r"^raftd_fsync_seconds_count (\d+)$", text, re.M)
    s = re.search(r"^raftd_fsync_seconds_sum (\S+)$", text, re.M)
    ck.check(m and s and int(m.group(1)) > 0 and float(s.group(1)) > 0,
             "raftd_fsync_seconds: count and sum above 0: %r %r" %
             (m and m.group(0), s and s.group(0)))


def test_health_and_down(ck, c, lid):
    rc, out, err = run(c, "health")
    lines = out.splitlines()
    ck.check(rc == 0 and len(lines) == 5 and
             all(re.fullmatch(r"127\.0\.0\.\d+:\d+ is healthy: took "
                              r"[0-9.]+ms", ln) for ln in lines),
             "health, all up: %r %r" % (out, err))
    rc, out, err = run(c, "health", "--json")
    hs = json.loads(out) if out.startswith("[") else []
    ck.check(rc == 0 and len(hs) == 5 and all(h["health"] for h in hs),
             "health --json: %r" % out)
    # Nodes that accept but never answer are asked in parallel: three of
    # them cost one -t, not three.
    hung = [socket.socket() for _ in range(3)]
    try:
        for h in hung:
            h.bind(("127.0.0.1", 0))
            h.listen(4)
        servers = ",".join(["127.0.0.1:%d" % h.getsockname()[1]
                            for h in hung] + [c.address(lid)])
        t0 = time.monotonic()
        p = subprocess.run([raftctl_path(), "-t", "1", "-s", servers,
                            "health"], text=True, capture_output=True,
                           timeout=30, stdin=subprocess.DEVNULL)
        took = time.monotonic() - t0
        # The hung ones are not members: marked, not counted; the
        # leader names the other four members, asked too.
        ck.check(p.returncode == 0 and
                 p.stdout.count(" is unhealthy: ") == 3 and
                 p.stdout.count("(not a member)") == 3 and
                 p.stdout.count(" is healthy: ") == 5,
                 "health with 3 hung non-members listed: %r %r" %
                 (p.stdout, p.stderr))
        ck.check(took < 2.5, "hung nodes asked in parallel: %.2f s" % took)
    finally:
        for h in hung:
            h.close()

    # One follower down, then writes it misses: its lag grows on the
    # leader, the others catch up.
    f1 = [n for n in c.ids() if n != lid][0]
    c.stop(f1)
    for i in range(5):
        ck.eq(run(c, "put", "later:%d" % i, "x")[0], 0, "put while down")
    rc, out, err = run(c, "status")
    ck.check(rc == 0 and err == "", "status, 1 of 5 down: exit 0: %r %r"
             % (rc, err))
    row = [r for r in out.splitlines()[1:] if r.split()[1] ==
           c.address(f1)]
    ck.check(row and row[0].split()[2] == "down", "the stopped node's row")
    rc, out, err = run(c, "status", "--json")
    st = {s["id"]: s for s in json.loads(out)}
    ck.check(st[f1]["state"] == "down" and st[f1]["error"] != "",
             "status --json: a down node's error: %r" % st[f1])
    # (The leader now: a slow machine may have had an election.)
    lead = max((s for s in st.values() if s["state"] == "leader"),
               key=lambda s: s["term"], default={"peers": []})
    peer = [p for p in lead["peers"] if p["id"] == f1]
    ck.check(peer and peer[0]["lag"] >= 5,
             "the stopped node lags by the writes it missed: %r" % peer)
    rc, out, err = run(c, "health")
    bad = [ln for ln in out.splitlines() if "unhealthy" in ln]
    ck.check(rc == 1 and len(bad) == 1 and
             bad[0].startswith(c.address(f1) + " is unhealthy: took ") and
             out.count(" is healthy: ") == 4 and one_line(err),
             "health with a node down: exit 1, one unhealthy line: %r %r"
             % (out, err))
    rc, out, err = run(c, "health", "--quorum")
    ck.check(rc == 0, "health --quorum with 4 of 5 healthy: %r" % err)

    # Three of five down: no quorum; status says so and exits 1.
    others = [n for n in c.ids() if n not in (lid, f1)]
    c.stop(others[0])
    c.stop(others[1])
    rc, out, err = run(c, "-t", "2", "status")
    ck.check(rc == 1 and out.count("down") == 3 and one_line(err) and
             ("no quorum" in err or "no leader" in err),
             "status, 3 of 5 down: exit 1: %r %r" % (rc, err))
    rc, out, err = run(c, "health", "--quorum")
    ck.check(rc == 1 and out.count("unhealthy") >= 3,
             "health --quorum, 3 of 5 down: exit 1: %r" % out)
    for n in (f1, others[0], others[1]):
        c.start(n)
    c.stable_leader(timeout=20)


def test_complete_keys(ck, c):
    rc, out, err = run(c, "__complete-keys", "user:")
    ck.eq((rc, out), (0, "user:1\nuser:2\n"), "__complete-keys user:")
    # The bash completion script, with the words of `raftctl -c CONF get
    # us`; the raftctl on its PATH is the built one.
    script = os.path.join(SRCDIR, "completion/bash/raftctl")
    bindir = tempfile.mkdtemp(prefix="raftctl-bin-")
    try:
        os.symlink(os.path.abspath(raftctl_path()),
                   os.path.join(bindir, "raftctl"))
        prog = ('source "$1"; COMP_WORDS=(raftctl -c "$2" get us); '
                'COMP_CWORD=4; _raftctl; printf "%s\\n" "${COMPREPLY[@]}"')
        p = subprocess.run(["bash", "-c", prog, "bash", script, c.conf],
                           text=True, capture_output=True, timeout=30,
                           env=dict(os.environ, PATH=bindir + ":" +
                                    os.environ.get("PATH", "")))
        ck.eq(p.stdout.split(), ["user:1", "user:2"],
              "bash completion of a key: %r" % p.stderr)
    finally:
        shutil.rmtree(bindir, ignore_errors=True)
    # Only keys that read back as one word are offered: one with a blank
    # or a quote would be split or left open by the shell (and bash).
    for k in ("odd/plain", "odd/sp ace", "odd/qu'ote", "odd/back\\s",
              "odd/x;y", "odd/-dash", "odd/caf\u00e9"):
        ck.eq(run(c, "put", "--", k, "v")[0], 0, "put %r" % k)
    rc, out, err = run(c, "__complete-keys", "odd/")
    ck.eq((rc, out.split("\n")), (0, ["odd/-dash", "odd/caf\u00e9",
                                      "odd/plain", ""]),
          "__complete-keys offers the plain keys only: %r" % err)
    # A completion in a -v session is quiet itself, and the session's
    # next command still traces (the completion's client is the shell's).
    p = subprocess.run([raftctl_path(), "-v", "-c", c.conf, "shell"],
                       input="__complete-keys user:\nget user:1\n",
                       text=True, capture_output=True, timeout=60)
    ck.eq((p.returncode, p.stdout), (0, "user:1\nuser:2\nv-user:1\n"),
          "-v shell: completion, then get: %r" % p.stderr)
    ck.check(re.search(r"raftctl: get on node \d+ .*: ok", p.stderr) and
             "list on node" not in p.stderr,
             "-v shell: the get traced, the completion's list not: %r" %
             p.stderr)


class Pty:
    """raftctl shell on a pseudo-terminal; reads what it prints."""

    def __init__(self, argv, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(argv[0], argv, env)
        self.out = b""

    def read_until(self, pat, start=0, timeout=10):
        """Reads until `pat` matches the output from `start` on (or the
        time is up, or the shell closed); whether it matched."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pat, self.out[start:], re.S):
                return True
            r, _, _ = select.select([self.fd], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                self.out += chunk
        return bool(re.search(pat, self.out[start:], re.S))

    def editing(self, timeout=10):
        """Waits until the line editor has the terminal in raw mode (the
        master side reads the slave's termios): keys typed before that
        meet the terminal's cooked mode, which would take Backspace and
        echo the arrows itself."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not termios.tcgetattr(self.fd)[3] & termios.ICANON:
                return True
            time.sleep(0.02)  # poll interval of a bounded wait
        return False

    def command(self, keys, want):
        """Types `keys` once the editor reads, then waits for `want` and
        the next prompt."""
        self.editing()
        mark = len(self.out)
        os.write(self.fd, keys)
        return self.read_until(want + rb".*raftctl> ", mark), mark

    def close(self):
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return
            time.sleep(0.05)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)


def test_shell_pty(ck, c):
    tmp = tempfile.mkdtemp(prefix="raftctl-hist-")
    hist = os.path.join(tmp, "history")
    env = dict(os.environ, TERM="xterm", RAFTCTL_HISTORY=hist)
    shell = [os.path.abspath(raftctl_path()), "-c", c.conf, "shell"]
    sh = Pty(shell, env)
    try:
        ck.check(sh.read_until(rb"raftctl> "), "the prompt: %r" % sh.out)
        # "get user:2", typed as "get user2", mended with a Left.
        ok, mark = sh.command(b"get user2\x1b[D:\r", rb"\nv-user:2\r?\n")
        ck.check(ok, "Left-arrow edit ran 'get user:2': %r" % sh.out[mark:])
        # Up recalls it; Backspace and a new digit make it user:1.
        ok, mark = sh.command(b"\x1b[A\x7f1\r", rb"\nv-user:1\r?\n")
        ck.check(ok, "Up recalled the last line: %r" % sh.out[mark:])
        # Tab completes a command ("lea" -> "leader") ...
        want = re.escape(c.address(c.find_leader()).encode())
        ok, mark = sh.command(b"lea\t\r", rb"\n\d+ " + want)
        ck.check(ok, "Tab completed 'lea' to leader: %r" % sh.out[mark:])
        # ... and a key: "get tea<Tab>" is "get team:x".
        ok, mark = sh.command(b"get tea\t\r", rb"\nv-team:x\r?\n")
        ck.check(ok, "Tab completed a key: %r" % sh.out[mark:])
        os.write(sh.fd, b"exit\r")
        sh.read_until(rb"$^", timeout=3)  # until it closes
    finally:
        sh.close()
    lines = open(hist).read() if os.path.exists(hist) else ""
    # (libedit's format writes a blank as \040.)
    ck.check("user:1" in lines and "leader" in lines,
             "the history file has the commands: %r" % lines)
    # A new shell reads it back: Up, Up is the command before "exit".
    sh = Pty(shell, env)
    try:
        sh.read_until(rb"raftctl> ")
        ok, mark = sh.command(b"\x1b[A\x1b[A\r", rb"\nv-team:x\r?\n")
        ck.check(ok, "history read back from the file: %r" % sh.out[mark:])
        os.write(sh.fd, b"exit\r")
        sh.read_until(rb"$^", timeout=3)
    finally:
        sh.close()
        shutil.rmtree(tmp, ignore_errors=True)


def main(ck):
    if not os.access(raftctl_path(), os.X_OK):
        print("test_raftctl_ops: %s is not built" % raftctl_path())
        sys.exit(99)
    c = Cluster(5, name="raftctl-ops")
    lid, term = c.stable_leader(timeout=15)
    test_status_fields(ck, c, lid)
    test_complete_keys(ck, c)
    if have_libedit():
        test_shell_pty(ck, c)
    else:
        ck.note("raftctl built --without-libedit: no line editing to test")
    lid, term = c.stable_leader(timeout=15)
    test_health_and_down(ck, c, lid)
    c.finish(ck)


if __name__ == "__main__":
    rt.run(main)
