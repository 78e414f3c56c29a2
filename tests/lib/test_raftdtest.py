#!/usr/bin/env python3
# test_raftdtest.py: the shared test package on its own: fault codes as the C side and docs/API.md define them, the leader hint, the config writer, free ports, the raftlog reader, bounded waits.
import os
import re
import socket
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import api, raftlog  # noqa: E402

SRC = os.environ.get("top_srcdir") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
NAMES = ("NOT_LEADER", "TIMEOUT", "INVALID", "NOT_FOUND", "UNAUTHORIZED",
         "UNAVAILABLE")


def read(rel):
    with open(os.path.join(SRC, rel)) as f:
        return f.read()


def fault_codes(ck):
    want = {name: getattr(api, name) for name in NAMES}
    ck.eq(sorted(want.values()), [1, 2, 3, 4, 5, 6], "six distinct codes")
    ck.eq({api.FAULT_NAMES[v]: v for v in want.values()}, want,
          "FAULT_NAMES names each code")
    # Every C header that defines the codes (RPC_FAULT_X = n or
    # API_FAULT_X = n, wherever they live now) must agree.
    headers = 0
    for d in ("common", "daemon", "client"):
        for name in sorted(os.listdir(os.path.join(SRC, d))):
            if not name.endswith(".h"):
                continue
            rel = os.path.join(d, name)
            got = {m.group(1): int(m.group(2)) for m in re.finditer(
                r"\b[A-Z]+_FAULT_([A-Z_]+) = (\d+),", read(rel))
                if m.group(1) in NAMES}
            if got:
                headers += 1
                ck.eq(got, want, "the codes of %s" % rel)
    ck.check(headers >= 1, "a C header defines the fault codes")
    table = read("docs/API.md").split("## Faults", 1)[-1]
    got = {m.group(2): int(m.group(1)) for m in re.finditer(
        r"^\| (\d+) \| ([A-Z_]+) \|", table, re.M)}
    ck.eq(got, want, "the codes of docs/API.md \"Faults\"")


def hints(ck):
    ck.eq(api.leader_hint("not leader; leader=3@127.0.0.1:8003"),
          (3, "127.0.0.1:8003"), "a hint naming the leader")
    ck.eq(api.leader_hint("not leader; leader=unknown"), None,
          "leader=unknown")
    for bad in ("", "not leader", "not leader; leader=x@h:1",
                "timeout: not committed in time"):
        ck.eq(api.leader_hint(bad), None, "not a hint: %r" % bad)
    ck.eq(api.leader_hint(api.hint_text(12, "10.0.0.1:9")),
          (12, "10.0.0.1:9"), "hint_text round trip")
    ck.eq(api.hint_text(), "not leader; leader=unknown",
          "hint_text of no leader")


def configs(ck):
    nodes = {1: "127.0.0.1:1", 2: "127.0.0.1:2"}
    a = rt.config_text(nodes, "/d/node-%i")
    b = rt.config_text(nodes, "/d/node-%i")
    sa = re.findall(r'secret = "([0-9a-f]+)";', a)
    ck.check(len(sa) == 1 and len(sa[0]) == 32, "a random secret by "
             "default (%r)" % sa)
    ck.check(a != b, "a new secret each time")
    c = rt.config_text(nodes, "/d", insecure=True)
    ck.check("secret" not in c and "insecure = true;" in c,
             "insecure: no secret, insecure = true")
    ck.check("secret" not in rt.config_text(nodes, "/d", secret=None),
             "secret=None: none")
    d = rt.config_text(list(nodes.items()), "/d/node-%i", secret="s\"x",
                       election=(150, 300), heartbeat=50,
                       request_timeout=1500, max_inflight=4,
                       extra={"flag": True, "name": "v"})
    for want in ('{ id = 2; address = "127.0.0.1:2"; }',
                 'secret = "s\\"x";', 'data_dir = "/d/node-%i";',
                 "election_timeout_ms = { min = 150; max = 300; };",
                 "heartbeat_ms = 50;", "request_timeout_ms = 1500;",
                 "max_inflight = 4;", "flag = true;", 'name = "v";'):
        ck.check(want in d, "the config holds %r" % want)
    ck.check("heartbeat_ms" not in a and "max_inflight" not in a,
             "keys left at None are not written")
    with tempfile.TemporaryDirectory() as t:
        path = os.path.join(t, "c.conf")
        s = rt.write_config(path, nodes, "/d/node-%i")
        with open(path) as f:
            ck.check('secret = "%s";' % s in f.read(),
                     "write_config returns the secret it wrote")


def ports(ck):
    ps = rt.free_ports(8)
    ck.eq(len(set(ps)), 8, "8 distinct free ports")
    socks = []
    try:
        for p in ps:
            s = socket.socket()
            socks.append(s)
            s.bind(("127.0.0.1", p))
        ck.check(True, "each one binds")
    except OSError as e:
        ck.check(False, "a free port binds: %s" % e)
    finally:
        for s in socks:
            s.close()


def raftlogs(ck):
    ck.eq(raftlog.crc32c(b"123456789"), 0xE3069283, "CRC-32C check value")
    with tempfile.TemporaryDirectory() as t:
        path = os.path.join(t, "raftlog")
        recs = [raftlog.entry_record(1, 1, 0, b""),
                raftlog.entry_record(2, 1, 1, b"x" * 13),
                raftlog.entry_record(3, 2, 1, b"y" * 100)]
        with open(path, "wb") as f:
            f.write(raftlog.MAGIC + b"\0" * (raftlog.HEADER - 8))
            for r in recs:
                f.write(r)
            f.write(recs[0][:20])   # a record cut short
        got = raftlog.records(path)
        ck.eq([(r["index"], r["term"], r["size"]) for r in got],
              [(1, 1, 40), (2, 1, 48), (3, 2, 136)],
              "records: indexes, terms, sizes; the cut one left out")
        ck.eq(got[1]["offset"], raftlog.HEADER + 40, "record offsets")
        ck.eq(len(raftlog.entries(path)), 3, "entries")
        with open(path, "r+b") as f:
            f.write(b"NOTALOG!")
        try:
            raftlog.records(path)
            ck.check(False, "a bad magic is refused")
        except rt.TestFailure:
            ck.check(True, "a bad magic is refused")


def waits(ck):
    t0 = time.monotonic()
    try:
        rt.wait_for(lambda: 1 / 0, 0.2, "never")
        ck.check(False, "wait_for gives up")
    except rt.TestFailure as e:
        ck.check("ZeroDivisionError" in str(e) and
                 time.monotonic() - t0 < 2, "wait_for gives up after its "
                 "timeout, naming the last error (%s)" % e)
    ck.eq(rt.wait_for(lambda: 7, 1, "at once"), 7, "wait_for's value")


def main():
    ck = rt.Checker("test_raftdtest")
    for part in (fault_codes, hints, configs, ports, raftlogs, waits):
        part(ck)
    print("%d passed, %d failed" % (ck.passed, ck.failed), flush=True)
    return 1 if ck.failed else 0


if __name__ == "__main__":
    sys.exit(main())
