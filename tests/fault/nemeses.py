# nemeses.py: the fault runs' fault injectors: seeded schedules, one fault at a time (Nemesis) or several overlapping (MixNemesis).
#
# A schedule is drawn from the seed alone (which fault, which targets by
# role or by id, how long, and for mix when each fault begins relative to
# the one before), so SEED=n replays it.  Each fault is a begin_<kind> that
# injects it and an end_<kind> that undoes it; the nodes a fault stopped
# are then timed until they catch up.  At most a minority of the nodes is
# ever down or paused at once.
import os
import random
import re
import shutil
import threading
import time
import traceback
import xmlrpc.client

from raftdtest import (CONN_ERRORS, FAULT_NAMES, INVALID, NOT_LEADER,
                       TIMEOUT, UNAVAILABLE, HarnessError, brief,
                       leader_hint, raftlog)

NEMESES = ("kill", "pause", "partition", "loss", "torn", "transfer",
           "member")
NET_NEMESES = ("partition", "loss")
# Take nodes down or pause them (a member fault takes its node out of the
# configuration, down and wiped, until it is a voter again).
PROC_NEMESES = ("kill", "pause", "torn", "member")
MIX = "mix"      # all of NEMESES, overlapping (MixNemesis)

START_TIMEOUT = 20.0     # a sanitizer build starts slowly
MEMBER_RPC_TIMEOUT = 5.0  # addMember/removeMember block until applied
TRANSFER_RPC_TIMEOUT = 6.0   # transferLeader gives up after 3 s
HANDED_RE = re.compile(r"leadership handed to node (\d+) in ([0-9.]+) ms")
TORN_RE = re.compile(r"dropped torn tail at offset (\d+) \((\d+) bytes\)")

now = time.monotonic


def parse_kinds(kind):
    """The nemeses a run draws its faults from: "all" or "mix" (every
    one), one name, or names joined by commas.  Raises ValueError on an
    unknown name."""
    if kind in ("all", MIX):
        return list(NEMESES)
    kinds = [k for k in kind.split(",") if k]
    bad = [k for k in kinds if k not in NEMESES]
    if bad or not kinds:
        raise ValueError("unknown nemesis %r (want %s, a comma separated "
                         "list of them, all, or mix)" % (
                             kind, ", ".join(NEMESES)))
    return kinds


def hold(rng, lo, hi):
    """How long a fault lasts: mostly lo..hi s; one in ten lasts 5-10 s,
    longer than a client's whole retry window, so that some outcomes stay
    unknown and a deposed leader's queued requests time out."""
    if rng.random() < 0.1:
        return round(rng.uniform(5.0, 10.0), 2)
    return round(rng.uniform(lo, hi), 2)


def make_schedule(seed, kinds, n=5, steps=400):
    """The fault schedule, drawn from the seed alone: a list of steps.
    A step names its targets by role ("leader") and by a shuffled list of
    ids that fills in the rest, so replaying a seed replays the choices."""
    rng = random.Random(seed)
    return [draw_step(rng, rng.choice(kinds), n) for _ in range(steps)]


def make_mix_schedule(seed, kinds, n=5, steps=400):
    """The mix nemesis's schedule, drawn from the seed alone: steps as in
    make_schedule, each with `after`, the seconds from its beginning to
    the next step's beginning: a fraction of its own hold, so that the
    next fault begins while this one is still active; and now and then
    `quiet`: before this step every active fault ends and the cluster gets
    that many healthy seconds."""
    rng = random.Random(seed)
    out = []
    for i in range(steps):
        st = draw_step(rng, rng.choice(kinds), n)
        st["after"] = round(min(3.0, max(0.15, rng.uniform(0.15, 0.85) *
                                         st["hold"])), 2)
        quiet = round(rng.uniform(0.5, 1.5), 2)
        st["quiet"] = quiet if rng.random() < 0.12 and i else None
        out.append(st)
    return out


def draw_step(rng, k, n):
    """One step of nemesis k: its targets and parameters (make_schedule)."""
    ids = list(range(1, n + 1))
    rng.shuffle(ids)
    st = {"op": k, "perm": ids, "gap": round(rng.uniform(0.4, 1.5), 2)}
    if k == "kill":
        st.update(n=rng.choice([1, 1, 2]), leader=rng.random() < 0.6,
                  hold=hold(rng, 0.2, 2.5))
    elif k == "pause":
        st.update(n=rng.choice([1, 1, 1, 2]), leader=rng.random() < 0.7,
                  hold=hold(rng, 0.4, 3.0))
    elif k == "partition":
        shape = rng.choice(["halves", "isolate-leader", "bridge",
                            "ring", "one-way-out", "one-way-in",
                            "random-one-way"])
        st.update(shape=shape, leader_pos=rng.randrange(n),
                  hold=hold(rng, 1.0, 4.0))
        if shape == "random-one-way":
            st["edges"] = [(a, b) for a in range(n) for b in range(n)
                           if a != b and rng.random() < 0.35]
    elif k == "loss":
        st.update(pct=rng.choice([5, 10, 20, 30, 50, 70]),
                  scope=rng.choice(["all", "all", "leader", "one"]),
                  clients=rng.random() < 0.3,
                  hold=hold(rng, 1.5, 4.0))
    elif k == "torn":
        st.update(leader=rng.random() < 0.4,
                  mode=rng.choice(["cut", "cut", "zero", "garbage"]),
                  back=rng.randint(1, 4), frac=rng.random(),
                  junk=rng.randint(1, 200),
                  hold=round(rng.uniform(0.2, 1.5), 2),
                  # A crash in the middle of taking a snapshot, of
                  # compacting the raftlog or of receiving a snapshot
                  # leaves the file it was writing cut short.
                  leftover=rng.choice([None, None, "snapshot.tmp",
                                       "raftlog.tmp", "snapshot.recv"]),
                  leftover_frac=rng.random())
    elif k == "transfer":
        # A burst of 1-3 transferLeader calls, each to 0 (the most
        # up-to-date voter) or to the voter at position `to` of the
        # other voters in perm order; or now and then a SIGTERM of the
        # leader (which hands over first) and a restart after `hold`.
        st.update(mode="sigterm" if rng.random() < 0.2 else "rpc",
                  to=[0 if rng.random() < 0.4 else rng.randrange(1, n)
                      for _ in range(rng.choice([1, 1, 2, 3]))],
                  hold=round(rng.uniform(0.2, 1.5), 2))
    elif k == "member":
        # removeMember of a node (the leader 35 % of the time), its stop
        # (SIGTERM or kill -9) and wiped data dir; after `hold`: start it
        # empty and addMember it back (before or after the start), now
        # and then as a voter at once; then wait until it is a voter.
        st.update(leader=rng.random() < 0.35,
                  stop=rng.choice(["term", "kill"]),
                  order=rng.choice(["start-add", "start-add", "add-start"]),
                  voter_now=rng.random() < 0.15,
                  hold=round(rng.uniform(3.0, 6.0) if rng.random() < 0.1
                             else rng.uniform(0.3, 2.0), 2))
    return st


def partition_drops(step, ids, leader):
    """The directed (src, dst) pairs to drop for a partition step; the
    leader (if known) is moved to position leader_pos of the permutation."""
    perm = list(step["perm"])
    shape = step["shape"]
    if leader is not None and leader in perm:
        want = 0 if shape in ("isolate-leader", "one-way-out",
                              "one-way-in") else step["leader_pos"]
        i = perm.index(leader)
        perm[i], perm[want] = perm[want], perm[i]
    drops = set()

    def split(a, b):
        for x in a:
            for y in b:
                drops.add((x, y))
                drops.add((y, x))
    if shape == "halves":
        split(perm[:2], perm[2:])
        desc = "%s | %s" % (perm[:2], perm[2:])
    elif shape == "isolate-leader":
        split(perm[:1], perm[1:])
        desc = "%s | %s" % (perm[:1], perm[1:])
    elif shape == "bridge":
        split(perm[:2], perm[3:])
        desc = "%s <-> %d <-> %s" % (perm[:2], perm[2], perm[3:])
    elif shape == "ring":
        n = len(perm)
        for i in range(n):
            for j in range(n):
                if i != j and (j - i) % n not in (1, n - 1):
                    drops.add((perm[i], perm[j]))
        desc = "ring %s" % perm
    elif shape == "one-way-out":
        for y in perm[1:]:
            drops.add((perm[0], y))
        desc = "%d -/-> others" % perm[0]
    elif shape == "one-way-in":
        for y in perm[1:]:
            drops.add((y, perm[0]))
        desc = "others -/-> %d" % perm[0]
    else:
        for a, b in step["edges"]:
            drops.add((perm[a], perm[b]))
        desc = "one-way cuts %s" % sorted(drops)
    return drops, desc


class Nemesis:
    def __init__(self, run, kind, schedule):
        self.run = run
        self.cluster = run.cluster
        self.kind = kind
        self.schedule = schedule
        self.events = []        # (t, text)
        self.counts = {}
        self.down = set()       # killed by us, to restart
        self.paused = set()
        self.net_faults = {}    # key -> (drops, loss or None), active now
        self.keys = 0
        self.torn_checks = []   # (nid, expected offset, got, what)
        self.pauses = []        # (nid, SIGSTOP time, SIGCONT time, leader)
        self.catch_ups = []     # (nid, what, seconds or None, faults that
                                # were active meanwhile: a list of kinds)
        # Membership: the nodes a member fault has taken out of the
        # configuration (removed, or re-added but not yet a voter); no
        # other fault picks them, and they are in self.down until they
        # are voters again.  pending: those whose re-add did not finish
        # within its bound (retried before each step and by heal()).
        self.out = set()
        self.pending = {}       # nid -> its member step
        self.removals = []      # (nid, was leader, seconds to remove)
        self.readds = []        # (nid, seconds to added, seconds to voter,
                                # voter at once)
        self.member_notes = {}  # what else happened: name -> count
        self.rpc_faults = {}    # "method fault" -> count
        self.transfers = {}     # outcome -> count
        self.transfer_us = []   # the "us" of each transfer answered
        self.sigterms = []      # (leader, exit code, seconds to exit,
                                # handed to or None, ms or None)

    def note(self, text):
        t = now() - self.run.t0
        self.events.append((t, text))
        if self.run.verbose:
            print("  [%7.3f] nemesis: %s" % (t, text), flush=True)

    def pick(self, step, n, with_leader):
        leader = self.cluster.find_leader() if with_leader else None
        out = [leader] if leader is not None and \
            leader not in self.out else []
        for nid in step["perm"]:
            if len(out) >= n:
                break
            if nid not in out and nid not in self.out and \
                    nid in self.cluster.up():
                out.append(nid)
        return out, leader

    def may_stop(self):
        """Whether a fault may take one more node down (mix: budget)."""
        return True

    def bump(self, table, key):
        table[key] = table.get(key, 0) + 1

    def wait(self, seconds):
        """Holds a fault for `seconds` (the fault's length, not a stand-in
        for a condition); returns early if the run is aborted."""
        self.run.abort.wait(seconds)

    def heal(self):
        """Undoes every fault: network rules, paused and killed nodes;
        then every node a member fault left out of the configuration is
        added back (started empty first)."""
        if self.net_faults:
            self.cluster.net.heal()
            self.net_faults.clear()
        for nid in sorted(self.paused):
            self.cluster.resume(nid)
        self.paused.clear()
        self.cluster.reap()
        for nid in self.cluster.ids():
            if not self.cluster.is_running(nid) and nid not in self.out:
                self.cluster.start(nid)
        self.down -= set(self.cluster.ids()) - self.out
        for nid in self.out:
            # A member fault the run's end cut short (abort).
            self.pending.setdefault(nid, None)
        self.retry_pending(30.0)
        self.reconcile()

    def final_members(self):
        """The members of the final configuration, once heal() has run:
        every node that is a voter in the leader's members().  A node
        that is not (its re-add failed) is stopped and reported; the
        end-of-run checks wait for the members only."""
        ms = None
        for attempt in range(4):
            for _ in range(100):
                ms = self.members()
                if ms is not None or self.run.abort.wait(0.1):
                    break
            if ms is None:
                return self.cluster.ids()
            # A removal given up on (no leader to confirm it in time) may
            # commit after heal()'s reconcile() looked: the leader had
            # appended it, and a client's timeout does not undo a
            # request.  Such a node is replaced as reconcile() does.
            late = [nid for nid in self.cluster.ids() if nid not in ms and
                    nid not in self.pending]
            if not late or self.run.abort.is_set() or attempt == 3:
                break
            self.note("member: %s removed after the heal looked (a "
                      "removal given up on that committed late)" % late)
            self.reconcile()
        final = sorted(n for n, m in ms.items() if m["voter"] and
                       n in self.cluster.nodes)
        for nid in self.cluster.ids():
            if nid not in final:
                self.run.fail("node %d is not a voter of the final "
                              "configuration %s after the heal" % (
                                  nid, sorted(ms)))
                self.cluster.stop(nid)
        return final

    # ---- calls to the leader (membership, transfers) ------------------------

    def leader_call(self, method, args, timeout,
                    rpc_timeout=MEMBER_RPC_TIMEOUT):
        """method(*args) on the leader: follows NOT_LEADER hints, retries
        TIMEOUT, UNAVAILABLE and connection errors with the same arguments
        (a repeated change is harmless) until `timeout` s have passed.
        Returns (result, None) or (None, the last error)."""
        cl = self.cluster
        deadline = now() + timeout
        target = None
        last = "no attempt"
        for _ in range(2000):
            if now() >= deadline or self.run.abort.is_set():
                break
            if target is None:
                target = cl.find_leader()
            if target is None:
                last = "no leader"
                self.wait(0.1)
                continue
            pause = 0.0
            try:
                return getattr(cl.client(target, rpc_timeout), method)(
                    *args), None
            except xmlrpc.client.Fault as f:
                last = f
                self.bump(self.rpc_faults, "%s %s" % (
                    method, FAULT_NAMES.get(f.faultCode, f.faultCode)))
                if f.faultCode == NOT_LEADER:
                    hint = leader_hint(f.faultString)
                    target = hint[0] if hint and hint[0] != target and \
                        hint[0] in cl.nodes else None
                    pause = 0.05 if target is None else 0.0
                elif f.faultCode in (TIMEOUT, UNAVAILABLE):
                    pause = 0.1
                else:
                    return None, f
            except CONN_ERRORS as e:
                last = e
                self.bump(self.rpc_faults, "%s no answer" % method)
                target = None
                pause = 0.05
            if pause:
                # A pause between attempts, not a condition: the next
                # attempt checks again.
                self.wait(pause)
        return None, last

    def members(self, nid=None):
        """{id: member} of the configuration as the leader (or nid) sees
        it, or None if it does not answer."""
        cl = self.cluster
        if nid is None:
            nid = cl.find_leader()
        if nid is None:
            return None
        try:
            return {m["id"]: m for m in cl.client(nid, 2.0).members()}
        except (CONN_ERRORS + (xmlrpc.client.Fault,)):
            return None

    # ---- member: remove, stop, wipe, start empty, add back ------------------

    def begin_member(self, st, n=None):
        cl = self.cluster
        targets, leader = self.pick(st, 1, st["leader"])
        if not targets:
            self.note("member: no node to remove")
            return None
        nid = targets[0]
        if not st["leader"]:
            leader = cl.find_leader()
        self.out.add(nid)
        t1 = now()
        _, err = self.leader_call("removeMember", [nid], 10.0)
        took = now() - t1
        if err is not None:
            ms = self.members()
            if ms is None or nid in ms:
                # Not known to be removed: the node is left alone; if the
                # change commits later, reconcile() replaces the node.
                self.out.discard(nid)
                self.bump(self.member_notes, "removal not confirmed")
                self.note("member: removeMember(%d) not confirmed within "
                          "10 s (%s); node %d left as it is" % (
                              nid, err, nid))
                return None
        self.removals.append((nid, nid == leader, took))
        if st["stop"] == "term":
            rc, _ = cl.stop(nid)
            if rc != 0:
                self.run.fail("node %d, removed from the configuration, "
                              "exited with %s on SIGTERM" % (nid, rc))
        else:
            cl.kill9(nid, missing_ok=True)
        self.down.add(nid)
        shutil.rmtree(cl.data_dir(nid), ignore_errors=True)
        self.note("member: removed node %d%s in %.2f s, %s, data dir wiped; "
                  "out for %.2f s" % (
                      nid, " (the leader)" if nid == leader else "", took,
                      "SIGTERM" if st["stop"] == "term" else "kill -9",
                      st["hold"]))
        return {"nid": nid}

    def end_member(self, st, ctx):
        nid = ctx["nid"]
        if not self.readd(nid, st["order"], st["voter_now"], 10.0):
            self.pending[nid] = st
            return [], None
        return [nid], "re-add after remove and wipe"

    def readd(self, nid, order, voter_now, timeout):
        """Adds node nid (wiped) back: started empty before or after
        addMember, then waits until the leader counts it a voter.  True
        once it is one; False if that did not happen within `timeout` s
        for the add and again for the promotion (retry later: a repeated
        add is harmless)."""
        cl = self.cluster
        t1 = now()
        if order == "start-add" and not cl.is_running(nid):
            cl.start(nid, self.start_timeout())
        args = [nid, cl.address(nid)] + ([True] if voter_now else [])
        marks = {o: len(cl.log_text(o)) for o in cl.ids() if o != nid}
        _, err = self.leader_call("addMember", args, timeout)
        if err is not None:
            self.bump(self.member_notes, "add not done in time")
            self.note("member: addMember%r not done within %.0f s (%s); "
                      "retried later" % (tuple(args), timeout, err))
            return False
        t_added = now() - t1
        if not cl.is_running(nid):
            cl.start(nid, self.start_timeout())
        t2 = now()
        ms = None

        def done(ms):
            # A voter the leader replicates to (voterNow makes it a voter
            # before it holds anything).
            return ms and nid in ms and ms[nid]["voter"] and \
                ms[nid]["match"] > 0
        for _ in range(int(timeout / 0.1) + 10):
            if now() - t2 > timeout or self.run.abort.is_set():
                break
            ms = self.members()
            if done(ms):
                break
            self.wait(0.1)
        if not done(ms) and self.refused(nid, marks):
            # A re-added node must be taken with its new incarnation
            # (daemon/ident.h): a refusal is a raftd bug, not a delay.
            self.run.fail("member: node %d, removed and added back with a "
                          "new data dir, was refused as a changed "
                          "incarnation" % nid)
            return False
        if not done(ms):
            self.bump(self.member_notes, "promotion not seen in time")
            self.note("member: node %d added but not a voter within %.0f "
                      "s (members %s); retried later" % (
                          nid, timeout, sorted(
                              (i, m["voter"]) for i, m in
                              (ms or {}).items())))
            return False
        t_voter = now() - t1
        self.readds.append((nid, t_added, t_voter, voter_now))
        self.down.discard(nid)
        self.out.discard(nid)
        self.note("member: node %d added back (%s%s) in %.2f s, a voter "
                  "after %.2f s" % (nid, order, ", voter at once" if
                                    voter_now else "", t_added, t_voter))
        return True

    def refused(self, nid, marks):
        """Whether the leader's log says, since `marks` (log lengths),
        that it refused node nid as a changed incarnation.  Only the
        leader's: it holds the removal and the return, while a node still
        behind them (cut off by a partition, say) refuses the new
        incarnation by design until it catches up (daemon/ident.h)."""
        pat = "peer %d: bad reply: its incarnation changed" % nid
        lid = self.cluster.find_leader()
        return lid in marks and \
            pat in self.cluster.log_text(lid)[marks[lid]:]

    def retry_pending(self, timeout):
        """Re-adds the nodes whose member fault did not finish."""
        for nid in sorted(self.pending):
            if self.run.abort.is_set():
                return
            self.note("member: retrying the re-add of node %d" % nid)
            if self.readd(nid, "start-add", False, timeout):
                del self.pending[nid]

    def reconcile(self):
        """After the heal: a node of the cluster that is not in the
        configuration (a removal we gave up on that committed later) is
        replaced as the operator would: stopped, wiped, started empty and
        added back."""
        ms = self.members()
        if ms is None:
            return
        for nid in self.cluster.ids():
            if nid in ms or nid in self.pending:
                continue
            self.bump(self.member_notes, "removed late, replaced at heal")
            self.note("member: node %d is not in the configuration %s: "
                      "replacing it" % (nid, sorted(ms)))
            self.cluster.stop(nid)
            shutil.rmtree(self.cluster.data_dir(nid), ignore_errors=True)
            self.out.add(nid)
            if not self.readd(nid, "start-add", False, 30.0):
                self.pending[nid] = None

    # ---- transfer: transferLeader, or SIGTERM of the leader -----------------

    def begin_transfer(self, st, n=None):
        cl = self.cluster
        if st["mode"] == "sigterm" and self.may_stop():
            return self.sigterm_leader(st)
        for to in st["to"]:
            if self.run.abort.is_set():
                break
            leader = cl.find_leader()
            if leader is None:
                self.bump(self.transfers, "no leader")
                continue
            ms = self.members(leader) or {}
            voters = [x for x in st["perm"] if x != leader and x in ms and
                      ms[x]["voter"]]
            target = 0 if to == 0 or not voters else \
                voters[(to - 1) % len(voters)]
            t1 = now()
            try:
                r = cl.client(leader, TRANSFER_RPC_TIMEOUT).transferLeader(
                    target)
            except xmlrpc.client.Fault as f:
                outcome = FAULT_NAMES.get(f.faultCode, str(f.faultCode))
                if f.faultCode == INVALID:
                    self.run.fail("transferLeader(%d) on leader %d: %s" % (
                        target, leader, f.faultString))
                self.bump(self.transfers, outcome)
                self.note("transferLeader(%d) on leader %d: %s (%s) after "
                          "%.2f s" % (target, leader, outcome,
                                      f.faultString, now() - t1))
                continue
            except CONN_ERRORS as e:
                self.bump(self.transfers, "no answer")
                self.note("transferLeader(%d) on leader %d: no answer (%s)"
                          % (target, leader, e))
                continue
            new = r["leader"]
            self.transfer_us.append(r["us"])
            self.bump(self.transfers, "ok")
            if target and new != target:
                self.bump(self.transfers, "ok, not to the target")
            if new == leader:
                self.run.fail("transferLeader(%d) on leader %d answered "
                              "%r: the same leader" % (target, leader, r))
            elif new not in ms or not ms[new]["voter"]:
                after = self.members(new) or {}
                if new not in after or not after[new]["voter"]:
                    self.run.fail("transferLeader(%d) on leader %d: node "
                                  "%d leads but is no voter (members "
                                  "before %s, after %s)" % (
                                      target, leader, new, sorted(ms),
                                      sorted(after)))
            self.note("transferLeader(%d) on leader %d: node %d leads "
                      "after %.1f ms" % (target, leader, new,
                                         r["us"] / 1000.0))
        return {"targets": []}

    def sigterm_leader(self, st):
        """SIGTERM of the leader: it hands over first, then exits 0."""
        cl = self.cluster
        leader = cl.find_leader()
        if leader is None:
            self.bump(self.transfers, "no leader")
            return {"targets": []}
        before = len(cl.log_text(leader))
        rc, took = cl.stop(leader)
        self.down.add(leader)
        m = HANDED_RE.search(cl.log_text(leader)[before:])
        if rc != 0:
            self.run.fail("leader %d exited with %s on SIGTERM" % (
                leader, rc))
        self.sigterms.append((leader, rc, took,
                              int(m.group(1)) if m else None,
                              float(m.group(2)) if m else None))
        self.note("SIGTERM of leader %d: exit %s after %.2f s, %s; down "
                  "%.2f s" % (leader, rc, took, m.group(0) if m else
                              "no handover", st["hold"]))
        return {"targets": [leader]}

    def end_transfer(self, st, ctx):
        targets = ctx["targets"]
        if not targets:
            return [], None
        for nid in targets:
            self.cluster.start(nid, self.start_timeout())
            self.down.discard(nid)
        self.note("restarted %s" % targets)
        return targets, "restart after SIGTERM of the leader"

    def describe_members(self):
        """The membership and transfer figures of the run, or None."""
        parts = []
        if self.removals or self.member_notes:
            done = [t for _, _, t, _ in self.readds]
            parts.append(
                "member: %d removed (%d of them the leader; slowest removal "
                "%.2f s), %d added back and voters again (%d as voters at "
                "once; slowest %.2f s from the add to voter)%s" % (
                    len(self.removals),
                    sum(1 for r in self.removals if r[1]),
                    max([r[2] for r in self.removals] or [0]),
                    len(self.readds), sum(1 for r in self.readds if r[3]),
                    max(done or [0]),
                    "; " + ", ".join("%s x%d" % kv for kv in sorted(
                        self.member_notes.items()))
                    if self.member_notes else ""))
        if self.transfers or self.sigterms:
            us = sorted(self.transfer_us)
            handed = [s_ for s_ in self.sigterms if s_[3] is not None]
            parts.append(
                "transfer: transferLeader %s%s; SIGTERM of the leader %d "
                "(handed over first %d, exit 0 %d)" % (
                    ", ".join("%s %d" % kv for kv in sorted(
                        self.transfers.items())) or "none",
                    " (median %.1f ms, max %.1f ms)" % (
                        us[len(us) // 2] / 1000.0, us[-1] / 1000.0)
                    if us else "", len(self.sigterms), len(handed),
                    sum(1 for s_ in self.sigterms if s_[1] == 0)))
        if self.rpc_faults:
            parts.append("faults of addMember/removeMember: %s" % ", ".join(
                "%s x%d" % kv for kv in sorted(self.rpc_faults.items())))
        return "; ".join(parts) or None

    def start_timeout(self):
        return START_TIMEOUT

    def restart_crashed(self):
        """A node that exited by itself (a crash, reported at the end) is
        restarted, so that at most a minority is ever down."""
        self.cluster.reap()
        for nid in self.cluster.ids():
            if not self.cluster.is_running(nid) and nid not in self.down:
                self.note("node %d is not running: restarting it" % nid)
                self.cluster.start(nid, self.start_timeout())

    def step(self, st):
        """One fault, alone: begin it, hold it, end it, then time the
        catch-up of the nodes it stopped."""
        self.restart_crashed()
        self.retry_pending(3.0)
        k = st["op"]
        self.counts[k] = self.counts.get(k, 0) + 1
        ctx = getattr(self, "begin_" + k)(st)
        if ctx is None:
            return
        self.wait(st["hold"])
        nids, what = getattr(self, "end_" + k)(st, ctx)
        if nids:
            self.wait_catch_up(nids, what)

    # Each fault is a begin_<kind>(step[, n]) that injects it and returns
    # its context (None: nothing done), and an end_<kind>(step, context)
    # that undoes it and returns (nodes whose catch-up to time, what).

    def begin_kill(self, st, n=None):
        targets, leader = self.pick(st, st["n"] if n is None else n,
                                    st["leader"])
        for nid in targets:
            self.cluster.kill9(nid, missing_ok=True)
            self.down.add(nid)
        self.note("kill -9 %s%s; down %.2f s" % (
            targets, " (leader %s)" % leader if leader in targets else "",
            st["hold"]))
        return {"targets": targets}

    def end_kill(self, st, ctx):
        targets = ctx["targets"]
        for nid in targets:
            self.cluster.start(nid, self.start_timeout())
            self.down.discard(nid)
        self.note("restarted %s" % targets)
        return targets, "restart after kill -9"

    def begin_pause(self, st, n=None):
        targets, leader = self.pick(st, st["n"] if n is None else n,
                                    st["leader"])
        for nid in targets:
            self.cluster.pause(nid)
            self.paused.add(nid)
        self.note("SIGSTOP %s%s for %.2f s" % (
            targets, " (leader %s)" % leader if leader in targets else "",
            st["hold"]))
        return {"targets": targets, "leader": leader,
                "t_stop": now() - self.run.t0}

    def end_pause(self, st, ctx):
        targets = ctx["targets"]
        for nid in targets:
            self.cluster.resume(nid)
            self.paused.discard(nid)
        t_cont = now() - self.run.t0
        for nid in targets:
            self.pauses.append((nid, ctx["t_stop"], t_cont,
                                nid == ctx["leader"]))
        self.note("SIGCONT %s" % targets)
        return targets, "SIGCONT after %.2f s" % st["hold"]

    def set_net(self, key, drops=(), loss=None):
        """Adds network fault `key` (a partition's drops, or a loss
        (pct, nids, clients)) to those active and applies them all."""
        self.net_faults[key] = (set(drops), loss)
        self._apply_net()

    def clear_net(self, key):
        self.net_faults.pop(key, None)
        self._apply_net()

    def _apply_net(self):
        drops = set()
        losses = []
        for key in sorted(self.net_faults):
            d, loss = self.net_faults[key]
            drops |= d
            if loss is not None:
                losses.append(loss)
        self.cluster.net.apply(drops, losses)

    def begin_partition(self, st, n=None):
        leader = self.cluster.find_leader()
        drops, desc = partition_drops(st, self.cluster.ids(), leader)
        key = self.next_key()
        self.set_net(key, drops=drops)
        self.note("partition %s: %s (leader %s) for %.2f s" % (
            st["shape"], desc, leader, st["hold"]))
        return {"key": key}

    def end_partition(self, st, ctx):
        self.clear_net(ctx["key"])
        self.note("healed partition %s" % st["shape"] if self.net_faults
                  else "healed")
        return [], None

    def begin_loss(self, st, n=None):
        leader = self.cluster.find_leader()
        if st["scope"] == "all":
            nids = list(self.cluster.ids())
        elif st["scope"] == "leader" and leader is not None:
            nids = [leader]
        else:
            nids = [st["perm"][0]]
        key = self.next_key()
        self.set_net(key, loss=(st["pct"], nids, st["clients"]))
        self.note("loss %d%% of the packets into %s from %s (leader %s) "
                  "for %.2f s" % (st["pct"], nids, "peers and clients" if
                                  st["clients"] else "peers", leader,
                                  st["hold"]))
        return {"key": key}

    def end_loss(self, st, ctx):
        self.clear_net(ctx["key"])
        self.note("healed loss of %d%%" % st["pct"] if self.net_faults
                  else "healed")
        return [], None

    def next_key(self):
        self.keys += 1
        return self.keys

    def begin_torn(self, st, n=None):
        cl = self.cluster
        targets, leader = self.pick(st, 1, st["leader"])
        if not targets:
            self.note("torn: no node up")
            return None
        nid = targets[0]
        cl.kill9(nid, missing_ok=True)
        self.down.add(nid)
        path = cl.raftlog(nid)
        recs = raftlog.records(path)
        size = os.path.getsize(path)
        ends = recs[-1]["offset"] + recs[-1]["size"] if recs else 32
        cands = self.safe_records(nid, recs)
        if st.get("entry"):
            cands = [r for r in cands if r["type"] == raftlog.REC_ENTRY]
        mode = st["mode"]
        if mode != "garbage" and not cands:
            mode = "garbage"   # nothing can be cut without losing data
        if mode == "garbage":
            junk = random.Random(st["junk"]).randbytes(st["junk"])
            with open(path, "r+b") as f:
                f.truncate(ends)
                f.seek(ends)
                f.write(junk)
            expect = ends
            what = "%d garbage bytes after offset %d (the file was %d " \
                "bytes%s)" % (len(junk), ends, size, ", with a partial " \
                "record at the end" if size > ends else "")
        else:
            rec = cands[-min(st["back"], len(cands))]
            cut = rec["offset"] + 1 + int(st["frac"] * (rec["size"] - 1))
            cut = min(cut, rec["offset"] + rec["size"] - 1)
            torn = rec
            with open(path, "r+b") as f:
                if mode == "cut":
                    f.truncate(cut)
                else:
                    f.seek(cut)
                    # Zeroing bytes that are already zero (a record's
                    # padding) changes nothing: the torn tail begins at the
                    # record of the first byte that was not zero, which
                    # may be a later one (a cut in the padding at the end
                    # of rec), or there is none (and the partial record
                    # that may follow `ends` goes with the truncate).
                    old = f.read(ends - cut)
                    nz = next((i for i, b in enumerate(old) if b), None)
                    torn = None if nz is None else next(
                        r for r in recs
                        if r["offset"] <= cut + nz < r["offset"] + r["size"])
                    f.truncate(ends)
                    f.seek(cut)
                    f.write(b"\0" * (ends - cut))
            expect = torn["offset"] if torn is not None else None
            lost = [r["index"] for r in recs if "index" in r and
                    torn is not None and r["offset"] >= torn["offset"]]
            what = "%s at offset %d inside the record at %d (%s), file " \
                "was %d bytes; %s%s" % (
                    mode, cut, rec["offset"], "entry %d" % rec["index"]
                    if "index" in rec else "commit marker", size,
                    "" if torn is rec else "only zeros there, so the torn "
                    "tail starts at %s; " % (
                        "offset %d" % torn["offset"] if torn else "no "
                        "offset (nothing changed)"),
                    "entries %d..%d lost" % (lost[0], lost[-1]) if lost
                    else "no entry lost")
        stamp = None
        if st.get("leftover"):
            text, stamp = self.leave_partial(nid, st["leftover"],
                                             st["leftover_frac"])
            what += "; " + text
        self.note("torn write on node %d%s: %s; down %.2f s" % (
            nid, " (leader)" if nid == leader else "", what, st["hold"]))
        return {"nid": nid, "expect": expect, "what": what,
                "leftover": st.get("leftover"), "stamp": stamp}

    def leave_partial(self, nid, name, frac):
        """Leaves in nid's data dir the file `name` cut short, as a crash
        while writing it would: the first frac of the file it would have
        become (the snapshot, or the raftlog for a compaction's
        raftlog.tmp), or a few bytes when there is none yet."""
        d = self.cluster.data_dir(nid)
        src = os.path.join(d, "raftlog" if name == "raftlog.tmp"
                           else "snapshot")
        try:
            with open(src, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            data = b"RAFTSNAP" + bytes(56)
        data = data[:int(frac * len(data))]
        path = os.path.join(d, name)
        with open(path, "wb") as f:
            f.write(data)
        st_ = os.stat(path)
        return ("a crash left %s cut at %d bytes" % (name, len(data)),
                (st_.st_ino, st_.st_mtime_ns))

    def end_torn(self, st, ctx):
        cl = self.cluster
        nid = ctx["nid"]
        before = len(cl.log_text(nid))
        cl.start(nid, self.start_timeout())
        self.down.discard(nid)
        text = cl.log_text(nid)[before:]
        m = TORN_RE.search(text)
        got = int(m.group(1)) if m else None
        self.torn_checks.append((nid, ctx["expect"], got, ctx["what"]))
        left = ctx.get("leftover")
        if left in ("snapshot.tmp", "snapshot.recv"):
            # raftd removes these at start-up (a new snapshot or transfer
            # may write the name again: another file, not ours).
            try:
                st_ = os.stat(os.path.join(cl.data_dir(nid), left))
                kept = (st_.st_ino, st_.st_mtime_ns) == ctx["stamp"]
            except FileNotFoundError:
                kept = False
            if kept:
                self.run.fail("node %d kept the partial %s after its "
                              "restart" % (nid, left))
        self.note("restarted %d: %s" % (
            nid, m.group(0) if m else "NO torn-tail message"))
        return [nid], "torn write: " + ctx["what"]

    def wait_catch_up(self, nids, what, timeout=5.0, fault=None):
        """After a restart or a resume, each of `nids` should learn the
        leader's commit index (sampled now) within `timeout` s while the
        clients go on.  Records (node, what, seconds or None, the other
        faults active meanwhile) in self.catch_ups; returns the seconds of
        the slowest (None: one did not).  `fault` is the mix nemesis's id
        of the fault that stopped them."""
        cl = self.cluster
        t1 = now()
        target = None
        took = {}
        for _ in range(int(timeout / 0.05) + 10):
            if now() - t1 > timeout or self.run.abort.is_set():
                break
            if target is None:
                lead = cl.find_leader()
                sts = cl.statuses([lead]) if lead else {}
                if lead in sts:
                    target = sts[lead]["commitIndex"]
            else:
                sts = cl.statuses([n for n in nids if n not in took])
                for n, st in sts.items():
                    if st["commitIndex"] >= target:
                        took[n] = now() - t1
                if len(took) == len(nids):
                    break
            time.sleep(0.05)
        others = self.active_between(t1, now(), fault)
        for n in nids:
            self.catch_ups.append((n, what, took.get(n), others))
        late = [n for n in nids if n not in took]
        meanwhile = " (meanwhile %s)" % ", ".join(others) if others else ""
        if not late:
            self.note("%s caught up to commit %d in %.2f s%s" %
                      (nids, target, max(took.values()), meanwhile))
            return max(took.values())
        sts = cl.statuses(cl.ids())
        self.note("%s did NOT catch up to commit %s within %.0f s%s; "
                  "statuses (state, term, leader, commit, applied, last) %s"
                  % (late, target, timeout, meanwhile, brief(sts)))
        return None

    def active_between(self, t1, t2, fault):
        """The kinds of the faults other than `fault` that were active at
        some time between t1 and t2 (none here: one fault at a time)."""
        return []

    def safe_records(self, nid, recs):
        """The records of nid's raftlog (nid is down) that can be cut
        without losing a committed entry: those at or after the first entry
        from which on every entry is also held (same index and term) by a
        majority of the other nodes, so that a majority still holds it;
        and commit markers after the last entry."""
        cl = self.cluster
        entries = [r for r in recs if r["type"] == raftlog.REC_ENTRY and
                   "index" in r]
        if not entries:
            return []
        lo = entries[max(0, len(entries) - 64)]["index"]
        held = {}
        for o in cl.ids():
            # A node a member fault took out is no voter: its copy does
            # not count towards the majority.
            if o == nid or o not in cl.up() or o in self.out:
                continue
            try:
                for e in cl.client(o, 2.0).showLog(lo, 1000):
                    key = (e["index"], e["term"])
                    held[key] = held.get(key, 0) + 1
            except (CONN_ERRORS + (xmlrpc.client.Fault,)):
                continue
        first_safe = None
        for r in reversed(entries):
            if r["index"] < lo or \
                    held.get((r["index"], r["term"]), 0) < cl.quorum:
                break
            first_safe = r
        if first_safe is None:
            last = entries[-1]["offset"]
            return [r for r in recs if r["offset"] > last]
        return [r for r in recs if r["offset"] >= first_safe["offset"]]

    def leader_term(self):
        """(leader id, its term) as the leader reports them, or None."""
        lead = self.cluster.find_leader()
        st = self.cluster.statuses([lead]).get(lead) if lead else None
        return (lead, st["term"]) if st else None

    def final_torn(self):
        """The same torn write at the end of every torn run, once the
        clients have stopped, so that the verdict does not hang on the
        schedule or the load: a follower's last entry (acknowledged, held
        by every node) cut in the middle, the node restarted, and no
        leader change meanwhile that could hide a missed repair (a round
        with a leader change is done again, at most 3 times).  Returns a
        problem text or None."""
        for attempt in range(4):
            before = self.leader_term()
            if before is None:
                continue
            perm = [n for n in self.schedule[0]["perm"] if n != before[0]]
            st = dict(self.schedule[0], op="torn", leader=False,
                      mode="cut", back=1, frac=0.5, hold=0.3, perm=perm,
                      entry=True)
            self.step(st)
            nid, what, took, _ = self.catch_ups[-1]
            what = what[len("torn write: "):]
            after = self.leader_term()
            self.note("final torn write on follower %d: leader (id, term) "
                      "%s before, %s after" % (nid, before, after))
            if after != before:
                continue
            if took is None:
                return "node %d did not catch up within 5 s of its " \
                    "restart after a torn write (%s), with no client load " \
                    "and leader %d unchanged in term %d" % (
                        nid, what, before[0], before[1])
            return None
        return "the final torn write could not be done with a stable " \
            "leader in 3 attempts"

    def main(self, deadline):
        try:
            for st in self.schedule:
                if now() >= deadline or self.run.abort.is_set():
                    break
                self.step(st)
                self.wait(st["gap"])
        except Exception as e:  # noqa: BLE001 - reported, then the run stops
            self.run.harness_error("nemesis: %s\n%s" %
                                   (e, traceback.format_exc()))


class MixNemesis(Nemesis):
    """Overlapping faults: each step of make_mix_schedule begins `after`
    seconds after the one before (while that one still holds), so that
    partitions, loss, kills, pauses and torn restarts are active together:
    a partition while a node is paused, a kill during loss, a torn restart
    while another node is partitioned away, the leader paused while a
    follower is down.  Kills, pauses and torn writes together stop at most
    a minority of the nodes: a step that would stop more takes fewer
    targets, or, when none is left, first waits for a stopped node's fault
    to end.  Partitions and losses add up with everything.  One thread
    begins and ends the faults in time order; the catch-up of the nodes a
    fault stopped is timed in a thread of its own, and a catch-up during
    which another fault was active is counted apart (that fault may be
    what held it back)."""

    def __init__(self, run, kind, schedule):
        super().__init__(run, kind, schedule)
        self.lock = threading.Lock()
        self.active = {}        # fault id -> (step, context, end time)
        self.spans = {}         # fault id -> (kind, begin, end or None)
        self.watchers = []
        self.overlaps = {}      # "kind+kind" -> times both were active
        self.overlapping = 0    # faults that began while another was
        self.max_active = 0
        self.max_stopped = 0    # nodes down or paused at once
        self.budget_waits = 0
        self.quiets = 0

    @property
    def minority(self):
        return (len(self.cluster.ids()) - 1) // 2

    def budget(self):
        """How many more nodes a fault may take down or pause (a node a
        member fault took out counts as down until it is a voter)."""
        return self.minority - len(self.down) - len(self.paused)

    def may_stop(self):
        return self.budget() >= 1

    def start_timeout(self):
        # A node restarted while its client packets are being dropped
        # takes longer to answer the status() that says it is up.
        if any(loss is not None and loss[2]
               for _, loss in self.net_faults.values()):
            return 3 * START_TIMEOUT
        return START_TIMEOUT

    def active_between(self, t1, t2, fault):
        with self.lock:
            spans = list(self.spans.items())
        return sorted(k for fid, (k, b, e) in spans if fid != fault and
                      b < t2 and (e is None or e > t1))

    def begin(self, st):
        k = st["op"]
        n = min(st.get("n", 1), self.budget()) if k in PROC_NEMESES \
            else None
        others = sorted(s_[0]["op"] for s_ in self.active.values())
        if others:
            self.note("%s begins while %s %s active" % (
                k, ", ".join(others), "is" if len(others) == 1 else "are"))
        ctx = getattr(self, "begin_" + k)(st, n)
        if ctx is None:
            return
        t = now()
        fid = self.next_key()
        with self.lock:
            self.active[fid] = (st, ctx, t + st["hold"])
            self.spans[fid] = (k, t, None)
        self.counts[k] = self.counts.get(k, 0) + 1
        if others:
            self.overlapping += 1
        for o in others:
            pair = "+".join(sorted((k, o)))
            self.overlaps[pair] = self.overlaps.get(pair, 0) + 1
        self.max_active = max(self.max_active, len(self.active))
        stopped = len(self.down) + len(self.paused)
        self.max_stopped = max(self.max_stopped, stopped)
        if stopped > self.minority:
            raise HarnessError("mix: %d nodes down or paused at once (%s "
                               "down, %s paused); at most %d may be" % (
                                   stopped, sorted(self.down),
                                   sorted(self.paused), self.minority))

    def end(self, fid):
        with self.lock:
            st, ctx, t_end = self.active.pop(fid)
            k, b, _ = self.spans[fid]
        late = now() - t_end
        if late > 1.0:
            # Beginning or ending another fault (a restart, a torn write's
            # showLog under loss) kept the nemesis thread busy.
            self.note("%s held %.2f s, not %.2f s: the nemesis was busy "
                      "with other faults" % (k, st["hold"] + late,
                                             st["hold"]))
        nids, what = getattr(self, "end_" + st["op"])(st, ctx)
        with self.lock:
            self.spans[fid] = (k, b, now())
        if nids:
            t = threading.Thread(target=self._watch, args=(nids, what, fid),
                                 name="catch-up", daemon=True)
            self.watchers.append(t)
            t.start()

    def _watch(self, nids, what, fid):
        try:
            self.wait_catch_up(nids, what, fault=fid)
        except Exception as e:  # noqa: BLE001 - reported, the run stops
            self.run.harness_error("catch-up of %s: %s\n%s" %
                                   (nids, e, traceback.format_exc()))

    def run_until(self, t):
        """Ends the active faults whose time comes before t, each at its
        time, then waits until t.  With t None: until no fault is
        active."""
        while not self.run.abort.is_set():
            fid = min(self.active, key=lambda f: self.active[f][2],
                      default=None)
            t_end = self.active[fid][2] if fid is not None else None
            if fid is not None and (t is None or t_end <= t):
                self.wait(max(0.0, t_end - now()))
                if self.run.abort.is_set():
                    return
                self.end(fid)
                continue
            if t is not None:
                self.wait(max(0.0, t - now()))
            return

    def play(self, deadline):
        t_next = now()
        for st in self.schedule:
            if self.run.abort.is_set() or now() >= deadline:
                break
            if st["quiet"] is not None:
                # A healthy while now and then: everything heals first.
                self.run_until(None)
                self.note("quiet for %.2f s" % st["quiet"])
                self.quiets += 1
                t_next = max(t_next, now() + st["quiet"])
            self.run_until(t_next)
            if st["op"] in PROC_NEMESES and self.budget() < 1:
                self.budget_waits += 1
                while self.budget() < 1 and not self.run.abort.is_set():
                    ends = [e for s_, _, e in self.active.values()
                            if s_["op"] in PROC_NEMESES]
                    if not ends:
                        raise HarnessError("mix: %s down, %s paused, but "
                                           "no fault holds them" % (
                                               sorted(self.down),
                                               sorted(self.paused)))
                    self.run_until(min(ends))
            if self.run.abort.is_set() or now() >= deadline:
                break
            self.restart_crashed()
            self.retry_pending(3.0)
            self.begin(st)
            t_next = now() + st["after"]
        # The faults still active end at their time.
        self.run_until(None)

    def main(self, deadline):
        try:
            self.play(deadline)
        except Exception as e:  # noqa: BLE001 - reported, then the run stops
            self.run.harness_error("nemesis: %s\n%s" %
                                   (e, traceback.format_exc()))
        for t in self.watchers:
            t.join(60)
            if t.is_alive():
                self.run.harness_error("a catch-up watcher did not stop")

    def describe(self):
        """The overlap figures of the run, one line."""
        pairs = ", ".join("%s x%d" % kv for kv in sorted(
            self.overlaps.items(), key=lambda kv: (-kv[1], kv[0])))
        return ("%d faults, %d of them begun while others were active "
                "(at most %d at once; at most %d of %d nodes down or paused "
                "at once); overlaps %s; %d waited for a stopped node's fault "
                "to end; %d quiet periods" % (
                    sum(self.counts.values()), self.overlapping,
                    self.max_active, self.max_stopped,
                    len(self.cluster.ids()), pairs or "none",
                    self.budget_waits, self.quiets))
