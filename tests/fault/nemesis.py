#!/usr/bin/env python3
# nemesis.py: Jepsen-style fault runs against a real 5-node raftd cluster: concurrent clients record a history while a nemesis injects faults, then the history is checked.
#
# One run: start 5 raftd processes (on loopback, or each in its own network
# namespace on a bridge when the nemesis needs the network), start client
# threads (registers with put/get/cas/delete, a counter incremented by cas,
# addEntry with reads of the log), inject faults from a seeded schedule,
# heal, let the cluster settle, read the final state, and check the history
# (checker.py).  Everything the run creates (processes, namespaces, bridge,
# veths, nft tables, the temp dir) is removed at the end, also when it fails
# or is interrupted.
#
#     tests/fault/nemesis.py --nemesis kill|pause|partition|loss|torn|
#                                      transfer|member|all|mix
#                            [--seconds S] [--seed N] [--nodes 5]
#
# Every nemesis but mix injects one fault at a time with a healthy gap after
# it; mix keeps several faults active at once (each new one begins while the
# previous one still holds), with at most a minority of the nodes down or
# paused.  SEED=n (or --seed n) replays the fault schedule: which fault,
# which targets (by role or by id), how long and, for mix, when each fault
# begins relative to the previous one are drawn from the seed alone.
# Exit status: 0 all checks passed, 1 a check failed, 77 skipped (the
# nemesis needs namespaces that cannot be had here), 99 the harness failed.
#
# The pieces: netns.py (the namespace network), nemeses.py (the fault
# injectors and their schedules), workloads.py (the clients), checker.py
# (the checks); the cluster, its config and the client proxy are
# tests/lib/raftdtest's.
import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import xmlrpc.client

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checker  # noqa: E402
from checker import ABSENT, FAIL, OK, UNKNOWN, Op  # noqa: E402
from nemeses import (MIX, NET_NEMESES, START_TIMEOUT,  # noqa: E402
                     MixNemesis, Nemesis, make_mix_schedule, make_schedule,
                     parse_kinds)
from netns import NetnsNet  # noqa: E402
from raftdtest import (CONN_ERRORS, Cluster, HarnessError,  # noqa: E402
                       LoopbackNet, Skip, brief, build_path, on_signal, tail)
from workloads import (Client, Stats, counter_worker,  # noqa: E402
                       log_worker, register_worker)

STOP_TIMEOUT = 8.0
now = time.monotonic


def snapshot_config():
    """The fault runs take snapshots every few hundred entries, so kills,
    pauses, partitions and torn writes land during snapshots, compactions
    and InstallSnapshot transfers: FAULT_SNAPSHOT_ENTRIES (default 300; 0
    turns snapshots off) and FAULT_SNAPSHOT_TRAILING (default 100)."""
    every = int(os.environ.get("FAULT_SNAPSHOT_ENTRIES", "300"))
    trailing = int(os.environ.get("FAULT_SNAPSHOT_TRAILING", "100"))
    return {"snapshot_entries": every, "snapshot_trailing": trailing}


def new_cluster(net, n, workdir, name):
    """The fault runs' cluster of n nodes on `net`, in workdir, not yet
    started: requests time out after 1.5 s (well within a client's 6 s
    for one operation), the nodes get the slow-start bounds of a
    sanitizer build, and statuses are polled with 1 s timeouts (a paused
    node must not hold a poll up for long)."""
    return Cluster(n, name=name, net=net, workdir=workdir,
                   request_timeout=1500, start=False,
                   extra=snapshot_config(),
                   log_level=os.environ.get("FAULT_LOG_LEVEL", "info"),
                   start_timeout=START_TIMEOUT, stop_timeout=STOP_TIMEOUT,
                   status_timeout=1.0)


# ---- one run ----------------------------------------------------------------

class Run:
    def __init__(self, kind, seconds, seed, nodes=5, verbose=False,
                 log=print, keep=None):
        self.kind = kind
        self.seconds = seconds
        self.seed = seed
        self.n = nodes
        self.verbose = verbose
        self.log = log
        self.keep = keep
        self.tag = "s%d" % seed
        self.keys = ["r0", "r1", "r2"]
        self.counter_key = "counter"
        self.max_ops = 1000000
        self.log_read_p = 0.05
        self.op_timeout = 6.0
        self.stop = threading.Event()
        self.abort = threading.Event()
        self.history = []
        self.hist_lock = threading.Lock()
        self.stats = Stats()
        self.problems = []       # failed checks (strings)
        self.unexpected_faults = []
        self.slow = []           # attempts that took long: (node, t1, t2,
                                 # outcome)
        self.errors = []         # harness errors
        self.t0 = now()
        self.cluster = None
        self.workdir = None
        self.net = None
        self.summary = {}
        self.snapshots = None    # what the nodes did with snapshots
        self.final_ids = None    # the final configuration's members

    # -- recording ------------------------------------------------------------

    def do(self, client, op, method, args, write):
        op.invoke = now() - self.t0
        if method == "getEntries":
            status, result = self.entries_paged(client, args[0])
        else:
            status, result = client.call(method, args, client.op_timeout,
                                         write)
        op.status = status
        op.node = client.answered
        if status == OK:
            op.complete = now() - self.t0
            if op.f == "read":
                result = [(e["index"], e["tid"], e["data"]) for e in result]
            elif op.f == "get" and result is not ABSENT:
                result = str(result)
            op.result = result
        with self.hist_lock:
            self.history.append(op)
        return op

    def entries_paged(self, client, frm):
        """getEntries(frm, ...) page after page until an empty page (a
        response holds at most 10,000 records and 4 MiB, docs/API.md).
        Commits grow the log in index order, so the pages together are the
        committed log as of the last, empty page: a read that takes effect
        between the first call and the last.  Any page failing fails the
        read (a read changes nothing)."""
        out = []
        for _ in range(100000):
            status, page = client.call("getEntries", [frm, 10000],
                                       client.op_timeout, False)
            if status != OK:
                return status, None
            if not page:
                return OK, out
            out.extend(page)
            frm = page[-1]["index"] + 1
        return FAIL, None

    def slow_attempt(self, nid, t1, t2, outcome):
        with self.hist_lock:
            self.slow.append((nid, t1 - self.t0, t2 - self.t0, outcome))

    def unexpected(self, text):
        with self.hist_lock:
            self.unexpected_faults.append(text)

    def harness_error(self, text):
        with self.hist_lock:
            self.errors.append(text)
        self.log("%s: harness error: %s" % (self.kind, text))
        self.abort.set()

    def fail(self, text):
        self.problems.append(text)
        self.log("FAIL: %s" % text)

    # -- phases ---------------------------------------------------------------

    def setup(self):
        kinds = parse_kinds(self.kind)
        need_net = any(k in NET_NEMESES for k in kinds)
        if need_net:
            why = NetnsNet.available()
            if why and all(k in NET_NEMESES for k in kinds):
                raise Skip(why)
            if why:
                self.log("%s: %s left out: %s" % (
                    self.kind, " and ".join(k for k in kinds
                                            if k in NET_NEMESES), why))
                kinds = [k for k in kinds if k not in NET_NEMESES]
                need_net = False
                if self.kind == MIX:
                    self.log("%s: overlapping loopback faults only (%s)" %
                             (self.kind, ", ".join(kinds)))
        self.kinds = kinds
        if not os.access(build_path("raftd"), os.X_OK):
            raise HarnessError("%s is not built" % build_path("raftd"))
        self.workdir = tempfile.mkdtemp(prefix="raftd-fault-%s-" % self.kind)
        self.net = NetnsNet() if need_net else LoopbackNet()
        self.cluster = new_cluster(self.net, self.n, self.workdir,
                                   "fault-%s" % self.kind)
        self.cluster.start_all()

    def teardown(self):
        problems = []
        if self.cluster is not None:
            self.cluster.kill_all()
        if self.net is not None:
            problems += self.net.teardown()
        if self.workdir and os.path.isdir(self.workdir):
            if self.keep and (self.problems or self.errors):
                self.save_evidence()
            shutil.rmtree(self.workdir, ignore_errors=True)
        if self.cluster is not None:
            self.cluster.remove()
        return problems

    def save_evidence(self):
        """With FAULT_KEEP=DIR: the history, the node logs and raftlogs of
        a failed run go to DIR/<nemesis>-<seed>/."""
        dest = os.path.join(self.keep, "%s-%d" % (self.kind, self.seed))
        try:
            os.makedirs(dest, exist_ok=True)
            checker.save_history(os.path.join(dest, "history.json"),
                                 self.history, self.meta())
            for nid in self.cluster.ids():
                for src, name in ((self.cluster.log_path(nid),
                                   "node-%d.log" % nid),
                                  (self.cluster.raftlog(nid),
                                   "node-%d/raftlog" % nid)):
                    if os.path.exists(src):
                        os.makedirs(os.path.dirname(
                            os.path.join(dest, name)), exist_ok=True)
                        shutil.copy(src, os.path.join(dest, name))
            self.log("%s: evidence saved in %s" % (self.kind, dest))
        except OSError as e:
            self.log("%s: could not save evidence: %s" % (self.kind, e))

    def meta(self):
        return {"init": {self.counter_key: "0"}, "seed": self.seed,
                "nemesis": self.kind}

    def final_call(self, cl, f, key, method, args):
        """A read after the faults, retried (bounded) until it completes;
        only the completed attempt stays in the history."""
        op = None
        for _ in range(20):
            op = Op("final", f, key, note="final")
            self.do(cl, op, method, args, False)
            if op.status == OK:
                return op
            with self.hist_lock:
                self.history.remove(op)
            if now() - self.t0 > self.final_deadline or \
                    self.abort.is_set():
                break
        return op

    def execute(self):
        """The whole run; returns True when every check passed."""
        cl = self.cluster
        self.log("%s: seed %d (replay with SEED=%d); %d nodes on %s; "
                 "%.0f s of faults" % (self.kind, self.seed, self.seed,
                                       self.n, self.net.describe(),
                                       self.seconds))
        if "loss" in self.kinds and self.net.netns:
            why = self.net.netem_probe()
            if why:
                self.log("%s: message delay and reordering: skipped: %s "
                         "(the kernel has no sch_netem; nftables can drop "
                         "but not delay packets)" % (self.kind, why))
            else:
                self.log("%s: note: tc netem works here, but this suite "
                         "does not inject delays yet" % self.kind)
        # Initial state: the counter at 0, recorded as an op.
        init_client = Client(self, random.Random(self.seed), 5.0)
        self.final_deadline = 1e9
        op = Op("init", "put", self.counter_key, "0", tid="%s-init" %
                self.tag)
        for _ in range(5):
            self.do(init_client, op, "put", [self.counter_key, "0", op.tid],
                    True)
            if op.status == OK:
                break
        if op.status != OK:
            raise HarnessError("could not initialise the counter: %s" %
                               op.status)
        with self.hist_lock:
            self.history = [o for o in self.history if o is op]
        # Workers: short and long RPC timeouts, so that some clients leave
        # a paused leader early and others are still waiting when it wakes;
        # some give up on an op sooner, so that outcomes stay unknown.
        threads = []
        p = 0
        for fn, count in ((register_worker, 4), (counter_worker, 2),
                          (log_worker, 2)):
            for _ in range(count):
                p += 1
                rng_p = random.Random(self.seed * 1000 + p)
                cl_p = Client(self, rng_p, 1.0 if p % 2 else 4.0,
                              2.0 if p % 3 == 0 else self.op_timeout)
                t = threading.Thread(target=self._worker, name="p%d" % p,
                                     args=(fn, p, rng_p, cl_p), daemon=True)
                threads.append(t)
        if self.kind == MIX:
            nem = MixNemesis(self, self.kind, make_mix_schedule(
                self.seed, self.kinds, self.n))
        else:
            nem = Nemesis(self, self.kind, make_schedule(
                self.seed, self.kinds, self.n))
        for t in threads:
            t.start()
        fault_deadline = now() + self.seconds
        nt = threading.Thread(target=nem.main, args=(fault_deadline,),
                              name="nemesis", daemon=True)
        nt.start()
        nt.join(self.seconds + 120)
        if nt.is_alive():
            self.harness_error("the nemesis did not finish within %.0f s" %
                               (self.seconds + 120))
            self.abort.set()
            nt.join(60)
        # Heal, let the clients work on a healthy cluster, then stop them.
        try:
            nem.heal()
        except HarnessError as e:
            self.fail("could not heal the cluster: %s" % e)
        nem.note("healed everything")
        # The end-of-run checks look at the final configuration's members
        # (every node unless a member fault could not add one back; such
        # a node is stopped and reported).
        self.final_ids = nem.final_members()
        if self.final_ids != cl.ids():
            self.log("%s: final configuration %s" % (self.kind,
                                                      self.final_ids))
        ok, sts = cl.wait_healthy(30.0, settled=False, nids=self.final_ids)
        if not ok:
            self.fail("the cluster did not recover within 30 s after the "
                      "faults ended: no leader all nodes agree on; "
                      "statuses (state, term, leader, commit, applied, "
                      "last) %s" % brief(sts))
        self.abort.wait(1.0)   # ops on the healed cluster
        self.stop.set()
        for t in threads:
            t.join(self.op_timeout + 10)
            if t.is_alive():
                self.harness_error("client thread %s did not stop" % t.name)
        settled, sts = cl.wait_healthy(30.0, nids=self.final_ids)
        if not settled:
            self.fail("the nodes did not catch up within 30 s after the "
                      "clients stopped; statuses (state, term, leader, "
                      "commit, applied, last) %s" % brief(sts))
        if "torn" in self.kinds and settled and not self.abort.is_set():
            try:
                problem = nem.final_torn()
            except HarnessError as e:
                problem = "the final torn write: %s" % e
            if problem:
                self.fail(problem)
            settled, sts = cl.wait_healthy(10.0, nids=self.final_ids)
        # Final reads.
        self.final_deadline = now() - self.t0 + 30
        fc = Client(self, random.Random(self.seed + 1), 5.0)
        finals = {}
        for k in self.keys + [self.counter_key]:
            finals[k] = self.final_call(fc, "get", k, "get", [k])
        flog = self.final_call(fc, "read", None, "getEntries", [1, 100000])
        missing = [k for k, o in finals.items() if o.status != OK]
        if flog.status != OK:
            missing.append("getEntries")
        if missing:
            self.fail("final reads failed for %s" % missing)
        # Every node's log the same (Log Matching on a healed cluster).
        self.compare_logs(settled)
        self.log_snapshots()
        # Stop the nodes (clean shutdown) and check their raftlogs.
        for prob in cl.stop_all():
            self.fail(prob)
        cl.reap()
        for nid in cl.ids():
            for t, rc in cl.nodes[nid].crashes:
                self.fail("node %d exited by itself (status %s) at t=%.3f:"
                          "\n%s" % (nid, rc, t - self.t0,
                                    tail(cl.log_path(nid), 20)))
        for prob in cl.sanitizer_reports():
            self.fail(prob)
        self.raftctl_check()
        for nid, expect, got, what in nem.torn_checks:
            if got != expect:
                self.fail("torn write on node %d (%s): expected raftd to "
                          "drop a torn tail at offset %s, it said %s" %
                          (nid, what, expect, got))
        self.nemesis = nem
        self.check(finals, flog)
        return not self.problems and not self.errors

    def _worker(self, fn, p, rng, cl):
        try:
            fn(self, p, rng, cl)
        except Exception as e:  # noqa: BLE001 - reported as a harness error
            self.harness_error("client %d: %s\n%s" %
                               (p, e, traceback.format_exc()))

    def fetch_log(self, nid):
        """nid's log as showLog gives it, from the first index it still
        holds (a compacted log starts after its snapshot): a list of
        (index, term, tid, data, committed)."""
        rows = []
        frm = 1
        for _ in range(1000):
            page = self.cluster.client(nid, 10.0).showLog(frm, 5000)
            if not page:
                break
            rows += [(e["index"], e["term"], e["tid"], e["data"],
                      e["committed"]) for e in page]
            frm = page[-1]["index"] + 1
        return rows

    def compare_logs(self, settled):
        """Log Matching on the healed cluster: where two nodes both hold
        an index (their logs may start at different indexes after their
        snapshots), their committed entries are the same; and once nothing
        moves (the same statuses before and after reading the logs) every
        node holds the same entries up to the same last index.  When the
        nodes did not settle, only the committed entries."""
        cl = self.cluster
        for attempt in range(5 if settled else 1):
            if settled:
                ok, before = cl.wait_healthy(15.0, nids=self.final_ids)
            else:
                ok, before = False, cl.statuses(self.final_ids)
            logs = {}
            for nid in self.final_ids:
                try:
                    logs[nid] = self.fetch_log(nid)
                except (CONN_ERRORS + (xmlrpc.client.Fault,)) as e:
                    self.fail("showLog of node %d: %s" % (nid, e))
                    return
            after = cl.statuses(self.final_ids)
            for nid, rows in logs.items():
                idx = [r[0] for r in rows]
                if idx and idx != list(range(idx[0], idx[0] + len(idx))):
                    self.fail("node %d's showLog has gaps: %r..%r" % (
                        nid, idx[:3], idx[-3:]))
                    return
            committed = {nid: {r[0]: r[:4] for r in rows if r[4]}
                         for nid, rows in logs.items()}
            ids = sorted(committed)
            for i, a in enumerate(ids):
                for b in ids[i + 1:]:
                    both = sorted(set(committed[a]) & set(committed[b]))
                    bad = [x for x in both
                           if committed[a][x] != committed[b][x]]
                    if bad:
                        x = bad[0]
                        self.fail("nodes %d and %d hold different committed "
                                  "entries at index %d: %r vs %r" %
                                  (a, b, x, committed[a][x],
                                   committed[b][x]))
                        return
            stable = ok and brief(before) == brief(after)
            full = {nid: {r[0]: r[:4] for r in rows}
                    for nid, rows in logs.items()}
            lasts = {nid: max(v) if v else 0 for nid, v in full.items()}
            same = len(set(lasts.values())) == 1 and all(
                full[a][x] == full[b][x]
                for i, a in enumerate(ids) for b in ids[i + 1:]
                for x in set(full[a]) & set(full[b]))
            if same:
                self.log_length = max(lasts.values())
                self.log_first = {nid: min(v) if v else 0
                                  for nid, v in full.items()}
                return
            if not settled:
                return
            if stable:
                self.fail("the nodes' logs differ although every node "
                          "reports the same commit and last index: %s" %
                          lasts)
                return
        self.fail("the nodes' logs kept changing after the clients "
                  "stopped (5 attempts)")

    def log_snapshots(self):
        """What the nodes did with snapshots during the run (since their
        last start): taken, installed from the leader, sent."""
        sts = self.cluster.statuses(self.final_ids)
        tot = {f: sum(st.get(f, 0) for st in sts.values())
               for f in ("snapshotsTaken", "snapshotsInstalled",
                         "snapshotsSent")}
        self.snapshots = dict(tot, first_index={
            nid: st.get("logFirstIndex") for nid, st in sts.items()})
        self.log("%s: snapshots taken %d, installed %d, sent %d (counted "
                 "since each node's last start); log first indexes %s" % (
                     self.kind, tot["snapshotsTaken"],
                     tot["snapshotsInstalled"], tot["snapshotsSent"],
                     ", ".join("%d: %s" % (nid, st.get("logFirstIndex"))
                               for nid, st in sorted(sts.items()))))

    def raftctl_check(self):
        raftctl = build_path("raftctl")
        if not os.access(raftctl, os.X_OK):
            self.log("%s: raftctl is not built; raftlog check skipped" %
                     self.kind)
            return
        try:
            p = subprocess.run([raftctl, "check", self.workdir],
                               capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as e:
            self.fail("raftctl check: %s" % e)
            return
        if p.returncode != 0:
            self.fail("raftctl check %s: exit %d:\n%s%s" % (
                self.workdir, p.returncode, p.stdout[-3000:],
                p.stderr[-2000:]))

    def check(self, finals, flog):
        h = self.history
        t_check = now()
        kv = checker.check_kv(h, init={self.counter_key: "0"})
        kv_ok = all(r.ok is True for r in kv.values())
        undecided = [k for k, r in kv.items() if r.ok is None]
        if not kv_ok:
            self.fail("key-value history: %s" % "; ".join(
                "%s: %s" % (k, r.detail) for k, r in kv.items()
                if r.ok is not True))
            self.log(checker.kv_report(h, kv))
        adds = [o for o in h if o.f == "add"]
        reads = [o for o in h if o.f == "read"]
        lr = None
        if flog.status == OK:
            lr = checker.check_log(adds, reads, flog.result)
            for kind, text in lr.anomalies:
                self.fail("log %s: %s" % (kind, text))
        fin = finals.get(self.counter_key)
        cval = None
        if fin is not None and fin.status == OK and fin.result is not None:
            try:
                cval = int(fin.result)
            except ValueError:
                cval = None
        c_ok, c_text = checker.check_counter(cval, self.stats.incr_acked,
                                             self.stats.incr_unknown)
        if not c_ok:
            self.fail("counter: %s" % c_text)
        for text in self.unexpected_faults:
            self.fail("unexpected answer: %s" % text)
        for text in self.errors:
            self.fail("harness: %s" % text)
        writes = [o for o in h if o.f in ("put", "cas", "delete", "add")]
        n_ok = sum(1 for o in h if o.status == OK)
        n_unknown = sum(1 for o in h if o.status == UNKNOWN)
        n_fail = sum(1 for o in h if o.status == FAIL)
        lost = (lr.lost if lr else 0) + (
            max(0, self.stats.incr_acked - cval) if cval is not None else 0)
        self.summary = {
            "nemesis": self.kind, "seed": self.seed, "ops": n_ok,
            "unknown": n_unknown, "failed": n_fail,
            "writes": len(writes),
            "linearizable": "yes" if kv_ok else
            ("undecided" if undecided and all(
                r.ok is not False for r in kv.values()) else "NO"),
            "log_ok": bool(lr and lr.ok), "lost": lost,
            "log_entries": lr.entries if lr else None,
            "log_acked": lr.acked if lr else None,
            "log_unknown": lr.unknown if lr else None,
            "counter": cval, "incr_acked": self.stats.incr_acked,
            "incr_unknown": self.stats.incr_unknown,
            "faults": dict(self.nemesis.counts),
            "check_seconds": round(now() - t_check, 1),
            "snapshots": self.snapshots,
        }
        if self.problems and not self.verbose:
            for t, text in self.nemesis.events:
                self.log("  [%7.3f] %s" % (t, text))
        s = self.summary
        if self.nemesis.pauses:
            # Requests a paused node held and answered once it woke: the
            # case of a deposed leader serving a stale read or acknowledging
            # a write (all of them are in the history checked above).
            woke = {"get": 0, "read": 0, "write": 0}
            for o in h:
                if o.status != OK or o.node is None:
                    continue
                for nid, t1, t2, _ in self.nemesis.pauses:
                    if o.node == nid and o.invoke < t2 <= o.complete:
                        kind = o.f if o.f in ("get", "read") else "write"
                        woke[kind] += 1
                        break
            held = {}
            for nid, t1, t2, outcome in self.slow:
                for pid, _, p2, _ in self.nemesis.pauses:
                    if nid == pid and t1 < p2 <= t2 and \
                            outcome != "no answer":
                        held[outcome] = held.get(outcome, 0) + 1
                        break
            s["answered_after_wake"] = woke
            s["held_attempts"] = held
            self.log("%s: %d pauses (%d of the leader); requests a paused "
                     "node held and answered after SIGCONT: %s; of those, "
                     "ops completed by it: %d get, %d getEntries, %d writes "
                     "(all in the checked history)" % (
                         self.kind, len(self.nemesis.pauses),
                         sum(1 for x in self.nemesis.pauses if x[3]),
                         ", ".join("%s %d" % kv_ for kv_ in
                                   sorted(held.items())) or "none",
                         woke["get"], woke["read"], woke["write"]))
        # Catch-ups timed while another fault was active (the mix) are
        # counted apart: that fault may be what held the node back.
        cu = [c for c in self.nemesis.catch_ups if not c[3]]
        cu_over = [c for c in self.nemesis.catch_ups if c[3]]
        if cu or cu_over:
            done = [t for _, _, t, _ in cu if t is not None]
            over_done = [t for _, _, t, _ in cu_over if t is not None]
            s["catch_up"] = {"count": len(cu), "late": len(cu) - len(done),
                             "max_s": round(max(done), 2) if done else None,
                             "overlapped": len(cu_over),
                             "overlapped_late": len(cu_over) -
                             len(over_done)}
            self.log("%s: restarted/resumed nodes that reached the leader's "
                     "commit index within 5 s under load: %d of %d%s%s%s" % (
                         self.kind, len(done), len(cu),
                         " (slowest %.2f s)" % max(done) if done else "",
                         "; late: " + "; ".join(
                             "node %d after %s" % (n, w) for n, w, t, _ in cu
                             if t is None) if len(done) < len(cu) else "",
                         "; while other faults were active (not counted): "
                         "%d of %d" % (len(over_done), len(cu_over))
                         if cu_over else ""))
        text = self.nemesis.describe_members()
        if text:
            nem = self.nemesis
            s["members"] = {"removed": len(nem.removals),
                            "removed_leader": sum(1 for r in nem.removals
                                                  if r[1]),
                            "readded": len(nem.readds),
                            "notes": dict(nem.member_notes)}
            s["transfers"] = dict(nem.transfers,
                                  sigterm=len(nem.sigterms))
            s["final_members"] = self.final_ids
            self.log("%s: %s" % (self.kind, text))
        if isinstance(self.nemesis, MixNemesis):
            s["overlaps"] = dict(self.nemesis.overlaps)
            s["max_active"] = self.nemesis.max_active
            s["max_stopped"] = self.nemesis.max_stopped
            self.log("%s: %s" % (self.kind, self.nemesis.describe()))
        self.log("%s: faults %s" % (self.kind, ", ".join(
            "%s x%d" % kv_ for kv_ in sorted(s["faults"].items())) or
            "none"))
        self.log("%s: ops %d completed, %d unknown, %d failed; "
                 "linearizable: %s (%s); log: %s entries, %s acknowledged, "
                 "%s unknown, %s; counter %s (acknowledged increments %d, "
                 "unknown %d); acknowledged writes lost: %d; checked in "
                 "%.1f s" % (
                     self.kind, s["ops"], s["unknown"], s["failed"],
                     s["linearizable"], ", ".join(
                         "%s %d ops" % (k, r.ops) for k, r in kv.items()),
                     s["log_entries"], s["log_acked"], s["log_unknown"],
                     "ok" if s["log_ok"] else "ANOMALIES", s["counter"],
                     s["incr_acked"], s["incr_unknown"], s["lost"],
                     s["check_seconds"]))


def parse_kinds_arg(kind):
    try:
        parse_kinds(kind)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e))
    return kind


def run_one(kind, seconds, seed, nodes=5, verbose=False, keep=None,
            log=None):
    """Runs one nemesis; returns (exit status, summary dict)."""
    log = log or (lambda s: print(s, flush=True))
    run = Run(kind, seconds, seed, nodes=nodes, verbose=verbose, log=log,
              keep=keep)
    status = 99
    try:
        run.setup()
        status = 0 if run.execute() else 1
    except Skip as e:
        log("%s: SKIP: %s" % (kind, e))
        status = 77
    except HarnessError as e:
        log("%s: harness error: %s" % (kind, e))
        run.errors.append(str(e))
        status = 99
    except BaseException as e:  # noqa: BLE001 - cleaned up below, re-raised
        if not isinstance(e, (SystemExit, KeyboardInterrupt)):
            traceback.print_exc()
        run.errors.append(repr(e))
        raise
    finally:
        run.abort.set()
        run.stop.set()
        if status not in (0, 77) and run.cluster is not None and \
                run.workdir and os.path.isdir(run.workdir):
            for nid in run.cluster.ids():
                log("---- node %d log (warnings and state changes, last 25)"
                    " ----" % nid)
                log(tail(run.cluster.log_path(nid), 25, re.compile(
                    r"warn|error|leader|torn|refus|starting|stopped")))
        for prob in run.teardown():
            log("%s: cleanup: %s" % (kind, prob))
    return status, run.summary


def default_seed():
    s = os.environ.get("SEED")
    if s:
        return int(s)
    return random.SystemRandom().randrange(1, 2 ** 31)


def test_main(kind, seconds=None, default_seconds=20.0):
    """Entry point of tests/fault/test_<kind>.py: one short run, the
    automake exit codes.  The faults last `seconds`, else FAULT_SECONDS,
    else default_seconds."""
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, on_signal)
    if seconds is None:
        seconds = float(os.environ.get("FAULT_SECONDS", default_seconds))
    seed = default_seed()
    name = "test_%s" % kind
    t = now()
    status, s = run_one(kind, seconds, seed,
                        verbose=bool(os.environ.get("FAULT_VERBOSE")),
                        keep=os.environ.get("FAULT_KEEP"))
    print("%s: %s in %.1f s (seed %d)" % (
        name, {0: "passed", 1: "FAILED", 77: "skipped",
               99: "harness error"}[status], now() - t, seed), flush=True)
    return status


def main(argv=None):
    ap = argparse.ArgumentParser(description="one nemesis run against a "
                                 "5-node raftd cluster")
    ap.add_argument("--nemesis", type=parse_kinds_arg, required=True,
                    help="kill, pause, partition, loss, torn, transfer, "
                    "member, a comma "
                    "separated list of them (one fault at a time, each one "
                    "of those), all (the same with every one), or mix "
                    "(every one, several at a time)")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--keep", default=os.environ.get("FAULT_KEEP"),
                    help="save the evidence of a failed run here")
    ap.add_argument("--json", action="store_true",
                    help="print the summary as JSON too")
    a = ap.parse_args(argv)
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, on_signal)
    seed = a.seed if a.seed is not None else default_seed()
    status, summary = run_one(a.nemesis, a.seconds, seed, nodes=a.nodes,
                              verbose=a.verbose, keep=a.keep)
    if a.json:
        print(json.dumps(summary))
    return status


if __name__ == "__main__":
    sys.exit(main())
