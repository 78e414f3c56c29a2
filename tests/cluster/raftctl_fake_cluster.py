#!/usr/bin/env python3
"""raftctl_fake_cluster.py: drives the built raftctl against a scripted
fake cluster: XML-RPC servers on loopback that speak the client API of
docs/API.md, with a leader chosen by the test, and faults, dropped
connections and hung nodes injected per call.  It checks what raftd cannot
be made to do on demand: hint following, retries with the same tid, the
deadline, parallel scans past a hung node, paging.

usage: raftctl_fake_cluster.py PATH/TO/raftctl
Exit status: 0 all passed, 1 a check failed, 99 the harness broke.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import xmlrpc.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xmlrpc.client import Fault

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
from raftdtest.api import (INVALID, NOT_FOUND, NOT_LEADER,  # noqa: E402
                           TIMEOUT, UNAVAILABLE, hint_text)

RAFTCTL = None
CHECKS = 0
FAILED = 0


def check(cond, what):
    global CHECKS, FAILED
    CHECKS += 1
    if not cond:
        FAILED += 1
        print("FAILED: %s" % what, file=sys.stderr)
    return cond


class Drop(Exception):
    """Close the connection without an answer (a crash mid-call)."""


class Cluster:
    """The replicated state, kept once; nodes only decide who answers."""

    def __init__(self, n):
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.kv = {}
        self.log = []  # dicts: index term tid data committed
        self.tids = {}  # tid -> (method, args, result)
        self.term = 1
        self.leader = 1  # id; 0 = none known
        self.calls = []  # (node id, method, params)
        self.script = {}  # (node id, method) -> [action, ...]
        self.nodes = [Node(self, i + 1) for i in range(n)]

    def servers(self, ids=None):
        return ",".join(n.address for n in self.nodes
                        if ids is None or n.id in ids)

    def node(self, nid):
        return self.nodes[nid - 1]

    def calls_of(self, method, nid=None):
        with self.lock:
            return [c for c in self.calls
                    if c[1] == method and (nid is None or c[0] == nid)]

    def reset_calls(self):
        with self.lock:
            self.calls = []

    def close(self):
        self.stop.set()
        for n in self.nodes:
            n.shutdown()

    # ---- the state machine --------------------------------------------
    def append(self, tid, data, committed=True):
        e = {"index": len(self.log) + 1, "term": self.term,
             "tid": tid, "data": data, "committed": committed}
        self.log.append(e)
        return e

    def write(self, method, args, tid, apply):
        """De-duplicates by tid like raftd: a repeated tid returns the
        first result, a reused one with other arguments is fault 3."""
        if tid is not None:
            tid = str(tid)
            if tid in self.tids:
                m, a, res = self.tids[tid]
                if (m, a) != (method, args):
                    raise Fault(INVALID, "tid %s reused with other "
                                "arguments" % tid)
                return res
        res = apply()
        if tid is not None:
            self.tids[tid] = (method, args, res)
        return res

    def execute(self, method, p):
        if method == "addEntry":
            tid, data = str(p[0]), p[1]
            def apply():
                self.append(tid, "add " + data)
                self.log[-1]["add"] = data
                return True
            return self.write(method, (data,), tid, apply)
        if method == "put":
            k, v = p[0], p[1]
            def apply():
                self.kv[k] = v
                self.append(p[2] if len(p) > 2 else "", "put %s" % k)
                return True
            return self.write(method, (k, v), p[2] if len(p) > 2 else None,
                              apply)
        if method == "delete":
            k = p[0]
            def apply():
                self.append(p[1] if len(p) > 1 else "", "del %s" % k)
                return self.kv.pop(k, None) is not None
            return self.write(method, (k,), p[1] if len(p) > 1 else None,
                              apply)
        if method == "cas":
            k, old, new = p[0], p[1], p[2]
            def apply():
                self.append(p[3] if len(p) > 3 else "", "cas %s" % k)
                cur = self.kv.get(k)
                if (cur is None and old == "") or cur == old:
                    self.kv[k] = new
                    return True
                return False
            return self.write(method, (k, old, new),
                              p[3] if len(p) > 3 else None, apply)
        if method == "get":
            if p[0] not in self.kv:
                raise Fault(NOT_FOUND, "not found")
            return self.kv[p[0]]
        if method == "list":
            return [{"key": k, "value": self.kv[k]}
                    for k in sorted(self.kv) if k.startswith(p[0])]
        if method == "getEntries":
            frm, mx = p[0], p[1]
            out = [{"index": e["index"], "term": e["term"],
                    "tid": e["tid"], "data": e["add"]}
                   for e in self.log
                   if "add" in e and e["committed"] and e["index"] >= frm]
            return out[:mx]
        raise Fault(-506, "no such method %s" % method)


class Node:
    def __init__(self, cluster, nid):
        self.cluster = cluster
        self.id = nid
        self.mode = "up"  # up | down | hang
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.node = self
        self.address = "127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def shutdown(self):
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def go_down(self):
        """Stop listening: connections are refused from now on."""
        self.mode = "down"
        self.shutdown()

    def status(self):
        c = self.cluster
        lead = c.leader
        committed = [e for e in c.log if e["committed"]]
        return {"id": self.id,
                "state": "leader" if lead == self.id else "follower",
                "term": c.term, "leader": lead,
                "leaderAddress": c.node(lead).address if lead else "",
                "commitIndex": len(committed),
                "lastApplied": len(committed),
                "lastLogIndex": len(c.log),
                "lastLogTerm": c.log[-1]["term"] if c.log else 0}

    def dispatch(self, method, p):
        c = self.cluster
        with c.lock:
            c.calls.append((self.id, method, p))
            actions = c.script.get((self.id, method))
            action = actions.pop(0) if actions else None
        if self.mode == "hang" or action == "hang":
            c.stop.wait(30)
            raise Drop()
        with c.lock:
            if method == "status":
                return self.status()
            if method == "isLeader":
                return c.leader == self.id
            if method == "showLog":
                frm, mx = p[0], p[1]
                return [{"index": e["index"], "term": e["term"],
                         "tid": e["tid"], "data": e["data"],
                         "committed": e["committed"]}
                        for e in c.log if e["index"] >= frm][:mx]
            if c.leader != self.id:
                raise Fault(NOT_LEADER, hint_text(
                    c.leader or None,
                    c.node(c.leader).address if c.leader else None))
            if action == "fault6":
                raise Fault(UNAVAILABLE, "unavailable: no quorum")
            if action == "fault2-noapply":
                raise Fault(TIMEOUT, "timeout: not committed in time")
            res = c.execute(method, p)
            if action == "fault2":
                raise Fault(TIMEOUT,
                            "timeout: leadership lost after appending")
            if action == "drop":
                raise Drop()
            if action == "failover":
                # Applied, then this leader dies and node `to` leads.
                c.leader = c.script[("failover-to",)]
                c.term += 1
                threading.Thread(target=self.go_down, daemon=True).start()
                raise Drop()
            return res


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        node = self.server.node
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            params, method = xmlrpc.client.loads(body)
            try:
                res = node.dispatch(method, params)
                out = xmlrpc.client.dumps((res,), methodresponse=True)
            except Fault as f:
                out = xmlrpc.client.dumps(f, methodresponse=True)
        except Drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        data = out.encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            # The client gave up on this call (its deadline, or a scan
            # that stopped early): nothing to answer.
            self.close_connection = True


def raftctl(*args, stdin=None, timeout=60):
    t0 = time.monotonic()
    p = subprocess.run([RAFTCTL] + list(args), input=stdin,
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t0


def test_leader_and_hints():
    c = Cluster(3)
    try:
        c.leader = 2
        rc, out, err, _ = raftctl("-s", c.servers(), "leader")
        check(rc == 0 and out == "2 %s\n" % c.node(2).address,
              "leader prints ID HOST:PORT: %r %r" % (out, err))
        rc, out, err, _ = raftctl("-s", c.servers(), "--json", "leader")
        check(rc == 0 and json.loads(out)["id"] == 2, "leader --json")
        # Only a follower listed: its status names the leader, which the
        # client adds to its list.
        rc, out, err, _ = raftctl("-s", c.servers([1]), "put", "k", "v")
        check(rc == 0 and c.kv.get("k") == "v",
              "put through a follower's hint: %r" % err)
        # The leader moves while a shell keeps its guess: the old leader
        # answers NOT_LEADER with a hint, and the shell follows it without
        # scanning again.
        c.reset_calls()
        proc = subprocess.Popen([RAFTCTL, "-s", c.servers(), "-v", "shell"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        proc.stdin.write("put m 1\n")
        proc.stdin.flush()
        deadline = time.monotonic() + 10
        while not c.calls_of("put") and time.monotonic() < deadline:
            time.sleep(0.01)
        with c.lock:
            c.leader = 3
            c.term += 1
        proc.stdin.write("put m 2\nget m\n")
        out, err = proc.communicate(timeout=30)
        check(proc.returncode == 0 and out == "2\n",
              "shell follows a hint: %r %r" % (out, err))
        check("following the hint to node 3" in err,
              "the hint was followed: %r" % err)
        check(len(c.calls_of("status")) <= 3,
              "one scan for three shell commands: %d"
              % len(c.calls_of("status")))
        check([n for n, _, _ in c.calls_of("put")] == [2, 2, 3],
              "put on the old leader, then its hint")
    finally:
        c.close()


def test_kv():
    c = Cluster(3)
    try:
        s = c.servers()
        check(raftctl("-s", s, "put", "user:1", "alice")[0] == 0, "put")
        check(raftctl("-s", s, "put", "user:2", "bob\tand\nnewline")[0] == 0,
              "put 2")
        check(raftctl("-s", s, "put", "other", "x")[0] == 0, "put 3")
        rc, out, err, _ = raftctl("-s", s, "get", "user:1")
        check(rc == 0 and out == "alice\n", "get prints the value alone")
        rc, out, err, _ = raftctl("-s", s, "get", "user:2")
        check(rc == 0 and out == "bob\tand\nnewline\n", "get is raw")
        rc, out, err, _ = raftctl("-s", s, "get", "nope")
        check(rc == 1 and out == "" and "not found" in err and
              err.count("\n") == 1, "get absent: exit 1: %r" % err)
        rc, out, err, _ = raftctl("-s", s, "list", "user:")
        check(rc == 0 and out == "user:1\talice\nuser:2\tbob\\tand\\nnewline\n",
              "list prefix: %r" % out)
        rc, out, err, _ = raftctl("-s", s, "list")
        check(rc == 0 and out.splitlines()[0].startswith("other\t"),
              "list all, sorted")
        rc, out, err, _ = raftctl("-s", s, "list", "--json", "user:")
        check(rc == 0 and json.loads(out)[1] ==
              {"key": "user:2", "value": "bob\tand\nnewline"}, "list --json")
        rc, out, err, _ = raftctl("-s", s, "list", "zzz")
        check(rc == 0 and out == "", "list of nothing")
        rc, out, err, _ = raftctl("-s", s, "cas", "user:1", "alice", "carol")
        check(rc == 0 and c.kv["user:1"] == "carol", "cas ok")
        rc, out, err, _ = raftctl("-s", s, "cas", "user:1", "alice", "dave")
        check(rc == 1 and "cas failed: value differs" in err and
              c.kv["user:1"] == "carol", "cas mismatch: %r" % err)
        rc, out, err, _ = raftctl("-s", s, "cas", "new", "", "1")
        check(rc == 0 and c.kv["new"] == "1", "cas absent -> create")
        rc, out, err, _ = raftctl("-s", s, "del", "new")
        check(rc == 0 and "new" not in c.kv, "del")
        rc, out, err, _ = raftctl("-s", s, "del", "new")
        check(rc == 1 and "not found" in err, "del absent: exit 1")
        # Explicit tids: a repeat changes nothing; another use is fault 3.
        rc, _, _, _ = raftctl("-s", s, "put", "--tid", "T1", "t", "1")
        rc2, _, _, _ = raftctl("-s", s, "put", "t", "1", "--tid=T1")
        n = sum(1 for e in c.log if e["tid"] == "T1")
        check(rc == 0 and rc2 == 0 and n == 1, "put --tid applies once")
        rc, out, err, _ = raftctl("-s", s, "put", "--tid", "T1", "t", "2")
        check(rc == 1 and "invalid request" in err and "reused" in err,
              "tid reuse: fault 3, exit 1: %r" % err)
        # Every automatic tid is unique per write.
        tids = [p[2] for (_, m, p) in c.calls_of("put")
                if len(p) > 2 and p[2].startswith("raftctl-")]
        check(len(tids) == 3 and len(set(tids)) == 3,
              "a fresh tid per put: %r" % tids)
        rc, out, err, _ = raftctl("-s", s, "add", "job-1", "hello world")
        check(rc == 0 and c.log[-1]["add"] == "hello world", "add")
        rc, out, err, _ = raftctl("-s", s, "add", "job-1", "other")
        check(rc == 1 and "invalid request" in err, "add tid reuse")
    finally:
        c.close()


def test_retries():
    c = Cluster(3)
    try:
        s = c.servers()
        # TIMEOUT twice, after the entry was appended: retried with the
        # same tid, applied once.
        c.script[(1, "addEntry")] = ["fault2", "fault2"]
        rc, out, err, _ = raftctl("-s", s, "add", "t-retry", "once")
        calls = c.calls_of("addEntry")
        check(rc == 0, "add retried after fault 2: %r" % err)
        check(len(calls) == 3 and all(p[0] == "t-retry" for _, _, p in calls),
              "three calls with the same tid")
        check(sum(1 for e in c.log if e["tid"] == "t-retry") == 1,
              "applied exactly once")
        # UNAVAILABLE, then the connection drops after applying: a put
        # without --tid keeps its generated tid over the retries.
        c.reset_calls()
        c.script[(1, "put")] = ["fault6", "drop"]
        rc, out, err, _ = raftctl("-s", s, "put", "r", "1")
        calls = c.calls_of("put")
        tids = {p[2] for _, _, p in calls}
        check(rc == 0 and c.kv.get("r") == "1", "put after 6 and drop")
        check(len(calls) == 3 and len(tids) == 1, "one tid: %r" % calls)
        check(sum(1 for e in c.log if e["tid"] in tids) == 1,
              "the put applied once")
        # The leader applies, dies mid-answer, another node takes over.
        c.reset_calls()
        c.script[(1, "addEntry")] = ["failover"]
        c.script[("failover-to",)] = 3
        rc, out, err, _ = raftctl("-s", s, "add", "t-failover", "x")
        check(rc == 0, "add across a leader change: %r" % err)
        check(sum(1 for e in c.log if e["tid"] == "t-failover") == 1,
              "applied once across the leader change")
        check(len(c.calls_of("addEntry", 3)) == 1,
              "retried on the new leader")
        # Status shows the dead node as down.
        rc, out, err, _ = raftctl("-s", s, "status")
        rows = out.splitlines()
        check(rc == 0 and len(rows) == 4 and "down" in rows[1] and
              "leader" in rows[3], "status with a down node: %r" % out)
        check(rows[0].split() == ["ID", "ADDRESS", "STATE", "TERM",
                                  "LEADER", "COMMIT", "LAST", "SNAP", "LOG",
                                  "LAG"],
              "header")
        # A node that reports no snapshot fields (an older raftd): "-".
        check(rows[3].split()[7:9] == ["-", "-"], "no snapshot fields: %r"
              % rows[3])
        rc, out, err, _ = raftctl("-s", s, "status", "--json")
        st = json.loads(out)
        check(rc == 0 and st[0]["state"] == "down" and
              st[2]["state"] == "leader" and st[2]["term"] == 2 and
              st[1]["leader"] == 3, "status --json")
    finally:
        c.close()


def test_unavailable():
    c = Cluster(3)
    try:
        c.leader = 0
        rc, out, err, t = raftctl("-s", c.servers(), "-t", "1", "put", "k",
                                  "v")
        check(rc == 3 and "cluster unavailable" in err and
              err.count("\n") == 1, "no leader: exit 3: %r" % err)
        check(0.9 < t < 2.5, "gave up at the deadline: %.2f s" % t)
        rc, out, err, t = raftctl("-s", c.servers(), "-t", "0.5", "leader")
        check(rc == 3 and t < 2, "leader: exit 3 without one")
        # A node that keeps answering UNAVAILABLE: bounded by -t.
        c.leader = 1
        c.script[(1, "get")] = ["fault6"] * 1000
        c.kv["k"] = "v"
        rc, out, err, t = raftctl("-s", c.servers(), "-t", "1", "get", "k")
        check(rc == 3 and t < 2.5 and "unavailable" in err,
              "fault 6 until the deadline: %r" % err)
        for n in c.nodes:
            n.go_down()
        rc, out, err, t = raftctl("-s", c.servers(), "-t", "0.5", "get", "k")
        check(rc == 3 and t < 1.5, "all down: exit 3 quickly")
        rc, out, err, t = raftctl("-s", c.servers(), "status")
        check(rc == 3 and out.count("down") == 3, "status all down: 3")
    finally:
        c.close()


def test_hung_node():
    c = Cluster(3)
    try:
        c.leader = 2
        c.node(1).mode = "hang"
        rc, out, err, t = raftctl("-s", c.servers(), "leader")
        check(rc == 0 and out.startswith("2 "), "leader past a hung node")
        check(t < 1.5, "the hung node does not hold the scan: %.2f" % t)
        rc, out, err, t = raftctl("-s", c.servers(), "put", "k", "v")
        check(rc == 0 and t < 1.5, "put past a hung node: %.2f" % t)
        rc, out, err, t = raftctl("-s", c.servers(), "-t", "1", "status")
        check(rc == 0 and "down" in out.splitlines()[1] and t < 1.8,
              "status waits at most the deadline: %.2f %r" % (t, out))
        # The leader itself hangs: exit 3 at the deadline, not later.
        c.node(2).mode = "hang"
        rc, out, err, t = raftctl("-s", c.servers(), "-t", "1", "put", "k",
                                  "w")
        check(rc == 3 and t < 2.5, "hung leader: exit 3 at -t: %.2f" % t)
    finally:
        c.close()


def test_log_and_entries():
    c = Cluster(3)
    try:
        s = c.servers()
        for i in range(1200):
            c.append("t%d" % i, "add d%d" % i)
            c.log[-1]["add"] = "d%d" % i
        c.append("", "noop\tx", committed=False)
        c.append("u1", "put k=\"v\"", committed=False)
        rc, out, err, _ = raftctl("-s", s, "log", "1199")
        lines = out.splitlines()
        check(rc == 0 and len(lines) == 4, "log FROM: %r" % out)
        f = lines[0].split(None, 4)
        check(f == ["1199", "1", "C", "t1198", "add d1198"],
              "log line: %r" % lines[0])
        check(lines[2].split(None, 4)[2:] == ["U", "-", "noop\\tx"],
              "uncommitted, no tid, escaped: %r" % lines[2])
        check(lines[3].split()[2] == "U", "U marks uncommitted")
        c.reset_calls()
        rc, out, err, _ = raftctl("-s", s, "log", "--node", "3", "1", "1100")
        calls = c.calls_of("showLog")
        check(rc == 0 and len(out.splitlines()) == 1100, "log COUNT")
        check([n for n, _, _ in calls] == [3, 3, 3] and
              [p for _, _, p in calls] == [(1, 500), (501, 500), (1001, 100)],
              "paged from node 3: %r" % [p for _, _, p in calls])
        rc, out, err, _ = raftctl("-s", s, "log", "--json", "1201")
        j = json.loads(out)
        check(rc == 0 and j[0]["committed"] is False and j[0]["tid"] == "" and
              j[1]["index"] == 1202, "log --json")
        rc, out, err, _ = raftctl("-s", s, "log", "--node", "9")
        check(rc == 2 and "no node with id 9" in err, "log --node unknown")
        rc, out, err, _ = raftctl("-s", s, "entries")
        lines = out.splitlines()
        check(rc == 0 and len(lines) == 1200 and
              lines[-1].split() == ["1200", "1", "t1199", "d1199"],
              "entries pages through all: %d" % len(lines))
        rc, out, err, _ = raftctl("-s", s, "--json", "entries", "5", "2")
        check(rc == 0 and [e["tid"] for e in json.loads(out)] == ["t4", "t5"],
              "entries FROM COUNT --json")
    finally:
        c.close()


def test_calendar():
    c = Cluster(3)
    try:
        s = c.servers()
        # Two clients add at the same moment: both events exist.
        procs = [subprocess.Popen([RAFTCTL, "-s", s, "cal", "add",
                                   "2026-02-03", "09:30", "Standup", str(i)],
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
                 for i in range(2)]
        ids = []
        for p in procs:
            out, err = p.communicate(timeout=30)
            check(p.returncode == 0, "cal add: %r" % err)
            ids.append(out.strip())
        check(len(set(ids)) == 2 and all(ids), "two distinct ids: %r" % ids)
        keys = sorted(k for k in c.kv if k.startswith("cal/"))
        check(keys == sorted("cal/2026-02-03/09:30/" + i for i in ids),
              "both events stored: %r" % keys)
        rc, out, err, _ = raftctl("-s", s, "cal", "add", "2026-02-28",
                                  "18:00", "Dinner", "at", "8")
        check(rc == 0, "cal add 3")
        late = out.strip()
        rc, out, err, _ = raftctl("-s", s, "cal", "add", "2026-02-03",
                                  "08:00", "Early")
        early = out.strip()
        rc, out, err, _ = raftctl("-s", s, "cal", "add", "2026-03-01",
                                  "08:00", "March")
        rc, out, err, _ = raftctl("-s", s, "cal", "list", "2026-02")
        lines = out.splitlines()
        check(rc == 0 and lines[0].strip() == "February 2026" and
              lines[1] == "Mo  Tu  We  Th  Fr  Sa  Su", "grid head: %r" % out)
        check(lines[3] == " 2   3*  4   5   6   7   8" and
              lines[6] == "23  24  25  26  27  28*", "marked days: %r" % out)
        ev = lines[8:]
        check(len(ev) == 4 and ev[0] == "2026-02-03 08:00  %s  Early" % early
              and ev[3] == "2026-02-28 18:00  %s  Dinner at 8" % late,
              "events in date and time order: %r" % ev)
        rc, out, err, _ = raftctl("-s", s, "cal", "list", "2026-02-03")
        check(rc == 0 and len(out.splitlines()) == 3 and "Standup" in out,
              "one day")
        rc, out, err, _ = raftctl("-s", s, "--json", "cal", "list", "2026-03")
        j = json.loads(out)
        check(rc == 0 and len(j) == 1 and j[0]["title"] == "March" and
              j[0]["date"] == "2026-03-01", "cal list --json")
        rc, out, err, _ = raftctl("-s", s, "cal", "list", "2026-04")
        check(rc == 0 and out.endswith("\nno events\n"), "empty month")
        rc, out, err, _ = raftctl("-s", s, "cal", "list")
        check(rc == 0 and time.strftime("%B %Y") in out, "current month")
        rc, out, err, _ = raftctl("-s", s, "cal", "del", late)
        check(rc == 0 and not any(k.endswith("/" + late) for k in c.kv),
              "cal del")
        rc, out, err, _ = raftctl("-s", s, "cal", "del", late)
        check(rc == 1 and "no such event" in err, "cal del absent: 1")
        rc, out, err, _ = raftctl("-s", s, "cal", "add", "2026-02-30",
                                  "10:00", "x")
        check(rc == 2 and "bad date" in err, "cal add bad date: 2")
        rc, out, err, _ = raftctl("-s", s, "cal", "add", "2026-02-03",
                                  "10:60", "x")
        check(rc == 2 and "bad time" in err, "cal add bad time: 2")
        # Someone's stray key under cal/ is skipped with a warning.
        c.kv["cal/junk"] = "?"
        rc, out, err, _ = raftctl("-s", s, "cal", "list", "2026-02")
        check(rc == 0 and "ignoring" not in err, "junk outside the month")
        c.kv["cal/2026-02-09/xx"] = "?"
        rc, out, err, _ = raftctl("-s", s, "cal", "list", "2026-02")
        check(rc == 0 and "ignoring key 'cal/2026-02-09/xx'" in err and
              " 9*" not in out, "malformed key ignored: %r" % err)
    finally:
        c.close()


def test_shell():
    c = Cluster(3)
    try:
        s = c.servers()
        script = ("# a comment\n\nput k \"hello world\"\nget k\n"
                  "cas k 'hello world' v2\nget k\nget missing\n"
                  "put k \"unterminated\nstatus\nexit 5\nget k\n")
        rc, out, err, _ = raftctl("-s", s, "shell", stdin=script)
        lines = out.splitlines()
        check(rc == 5, "exit N ends the shell with N: %d" % rc)
        check(lines[0] == "hello world" and lines[1] == "v2",
              "shell output: %r" % out)
        check("not found" in err and "unterminated quote" in err,
              "errors go on: %r" % err)
        check(len(lines) == 2 + 1 + 3, "status table in the shell")
        rc, out, err, _ = raftctl("-s", s, stdin="get k\nget missing\n")
        check(rc == 1 and out == "v2\n", "no command = shell; last status")
        rc, out, err, _ = raftctl("-s", s, stdin="status --json\nlist\n")
        check(rc == 0 and out.endswith("]\nk\tv2\n"),
              "--json lasts one command: %r" % out)
    finally:
        c.close()


def main():
    global RAFTCTL
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 99
    RAFTCTL = sys.argv[1]
    tests = [test_leader_and_hints, test_kv, test_retries, test_unavailable,
             test_hung_node, test_log_and_entries, test_calendar, test_shell]
    only = os.environ.get("ONLY")
    for t in tests:
        if only and only not in t.__name__:
            continue
        before = FAILED
        t()
        print("%s: %s" % (t.__name__, "ok" if FAILED == before else "FAILED"))
    if FAILED:
        print("test_raftctl_fake: %d of %d checks failed" % (FAILED, CHECKS))
        return 1
    print("test_raftctl_fake: %d checks passed" % CHECKS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
