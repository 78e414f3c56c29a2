# test_hostile.py: forged and malformed peer messages never crash, wedge or fork a node, with or without the cluster secret.
#
# Each attack below once took a cluster down (issue "untrusted input"):
#   1. appendEntries with term 2^63-1 (every node adopted it; no election
#      could follow) -- refused: terms are bounded and may not jump by more
#      than 2^32 in one message;
#   2. appendEntries to the leader at its own term from another member
#      (hit an assert: the leader aborted) -- dropped as a second leader;
#   3. entries whose terms decrease, fall below prevTerm or are 0 (the
#      storage refused them and the follower exited) -- refused at decode;
#   4. a forged entry with a commit index from a member that is not the
#      leader (applied as committed; the follower then refused the real
#      leader) -- dropped as a second leader of the term.
# They are sent WITH the secret (an insider, or whoever sniffed it), and
# attack 1 also to an insecure cluster.  After each: every node alive, a
# leader within 3 s, terms sane, the forged value unreadable, the followers'
# logs matching the leader's.
import os
import random
import sys
import time
import xmlrpc.client

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import peerwire  # noqa: E402
from raftdtest import INVALID, NOT_FOUND, UNAUTHORIZED, Cluster  # noqa: E402

NO_REPLY = 100
I8_MAX = (1 << 63) - 1
MAX_TERM = (1 << 62) - 1


def put_command(key, value):
    """common/command.h's encoding of put(key, value) without a tid."""
    def s(b):
        assert len(b) < 128
        return bytes([len(b)]) + b
    return bytes([1, 2, 0]) + s(key) + s(value)


class Attacker:
    """Sends peer frames, signed with the cluster's secret when it has one
    (a fresh epoch per attacker, sequence numbers counting up)."""

    def __init__(self, c):
        self.c = c
        self.epoch = random.getrandbits(63)
        self.seq = 0

    def send(self, to, method, frame):
        """The answer frame as a dict, or the fault code."""
        if self.c.secret is not None:
            self.seq += 1
            frame = peerwire.sign_request(frame, self.c.secret, self.epoch,
                                          self.seq)
        try:
            return peerwire.unpack(peerwire.call(self.c.peer_port(to),
                                                 method, frame))
        except xmlrpc.client.Fault as f:
            return f.faultCode


def healthy(c, ck, what, max_term=1 << 33):
    """Every node alive, one leader agreed within 3 s, terms sane."""
    for nid in c.ids():
        ck.check(c.is_running(nid), "%s: node %d is alive" % (what, nid))
    t0 = time.monotonic()
    lead, term = c.stable_leader(timeout=3.0)
    ck.note("%s: leader %d in term %d, agreed %.2f s after the attack" %
            (what, lead, term, time.monotonic() - t0))
    ck.check(term < max_term, "%s: term %d stays small" % (what, term))
    ck.eq(c.call_with_retry("put", "after/" + what, "ok", timeout=5), True,
          "%s: the cluster still commits" % what)
    return lead, term


def main(ck):
    c = Cluster(3, name="hostile")
    lead, term = c.stable_leader()
    c.call_with_retry("put", "k", "v")
    c.wait_caught_up()
    a = Attacker(c)
    f1, f2 = [n for n in c.ids() if n != lead]

    # 1. The top terms, from a member, with the secret.
    for t in (I8_MAX, 1 << 62, MAX_TERM, term + (1 << 32) + 1):
        r = a.send(f1, "appendEntries",
                   peerwire.pack_append(f2, f1, t, 0, 0, 0, 1))
        ck.check(r in (INVALID, NO_REPLY),
                 "1. appendEntries with term %d refused (%r)" % (t, r))
    r = a.send(f1, "requestVote", peerwire.pack_vote(f2, f1, I8_MAX, 0, 0))
    ck.check(r == INVALID, "1. requestVote with term 2^63-1 refused (%r)" %
             (r,))
    lead, term = healthy(c, ck, "1-top-term")

    # 2. A second leader of the leader's own term, three times to each
    #    node in turn (it used to abort the leader).
    for round_ in range(3):
        lead, term = c.stable_leader(timeout=3.0)
        for target in c.ids():
            frm = [n for n in c.ids() if n != target and n != lead]
            frm = frm[0] if frm else lead
            if target == lead:
                frm = [n for n in c.ids() if n != lead][round_ % 2]
            st = c.status(target)
            r = a.send(target, "appendEntries", peerwire.pack_append(
                frm, target, st["term"], 0, 0, st["commitIndex"] + 5, 1))
            ck.check(r == NO_REPLY or isinstance(r, dict),
                     "2. appendEntries claiming term %d for %d sent to %d: "
                     "%r" % (st["term"], frm, target, r))
    lead2, term2 = healthy(c, ck, "2-second-leader")
    ck.eq((lead2, term2), (lead, term), "2. the leader and term are "
          "unchanged")
    ck.check("second leader" in c.log_text(lead),
             "2. the leader logged the dropped messages")

    # 3. Malformed entries, to a follower, from the real leader's id at its
    #    own term (the most trusted sender there is).
    lead, term = c.stable_leader(timeout=3.0)
    f1 = [n for n in c.ids() if n != lead][0]
    st = c.status(f1)
    last, last_term = st["lastLogIndex"], st["lastLogTerm"]
    cmd = put_command(b"malformed", b"x")
    bad = [
        ("decreasing terms", [(term, 1, cmd), (term - 1 or 0, 1, cmd)]),
        ("a term below prevTerm", [(last_term - 1 if last_term > 1 else 0,
                                    1, cmd)]),
        ("a term 0 entry", [(0, 1, cmd)]),
        ("a term above the message's", [(term + 1, 1, cmd)]),
        ("an unknown entry type", [(term, 9, cmd)]),
    ]
    for what, entries in bad:
        r = a.send(f1, "appendEntries", peerwire.pack_append(
            lead, f1, term, last, last_term, 0, 1, entries))
        ck.eq(r, INVALID, "3. entries with %s refused" % what)
    # Framing lies: a count larger than the frame, a length past its end.
    frame = bytearray(peerwire.pack_append(lead, f1, term, last, last_term,
                                           0, 1, [(term, 1, cmd)]))
    for what, off, val in (("an entry count of 2^32-1", peerwire.HEADER + 32,
                            b"\xff" * 4),
                           ("an entry length past the end", peerwire.HEADER + 45,
                            b"\x00\x00\x10\x00")):
        f = bytearray(frame)
        f[off:off + 4] = val
        ck.eq(a.send(f1, "appendEntries", bytes(f)), INVALID,
              "3. a frame with %s refused" % what)
    healthy(c, ck, "3-malformed")
    ck.fault(lambda: c.client(lead).get("malformed"), NOT_FOUND,
             "3. nothing of the malformed entries was applied")

    # 4. A forged entry with a commit index, from a member that is not the
    #    leader, at the current term, to the follower it is not.
    lead, term = c.stable_leader(timeout=3.0)
    c.wait_caught_up()
    m, victim = [n for n in c.ids() if n != lead]
    st = c.status(victim)
    last, last_term = st["lastLogIndex"], st["lastLogTerm"]
    r = a.send(victim, "appendEntries", peerwire.pack_append(
        m, victim, term, last, last_term, last + 1, 1,
        [(term, 1, put_command(b"forged", b"evil"))]))
    ck.eq(r, NO_REPLY, "4. the forged append from %d is dropped by %d" %
          (m, victim))
    healthy(c, ck, "4-forged-commit")
    ck.fault(lambda: c.client(lead).get("forged"), NOT_FOUND,
             "4. the forged value is not readable")
    c.wait_caught_up()
    logs = {}
    for nid in c.ids():
        entries = c.client(nid).showLog(1, 100000)
        logs[nid] = [(e["index"], e["term"], e["data"]) for e in entries]
        ck.check(all("evil" not in e[2] for e in logs[nid]),
                 "4. node %d's log has no forged entry" % nid)
    ck.check(logs[victim] == logs[lead], "4. the victim's log matches the "
             "leader's (%d entries)" % len(logs[lead]))
    c.finish(ck)

    # 1 again, on a cluster without a secret: the term bound alone keeps
    # one message from pinning every node at the top term.
    c = Cluster(3, name="hostile-insecure", insecure=True)
    lead, term = c.stable_leader()
    a = Attacker(c)
    f1, f2 = [n for n in c.ids() if n != lead]
    for t in (I8_MAX, MAX_TERM, term + (1 << 32) + 1):
        r = a.send(f1, "appendEntries",
                   peerwire.pack_append(f2, f1, t, 0, 0, 0, 1))
        ck.check(r in (INVALID, NO_REPLY),
                 "1 (insecure). appendEntries with term %d refused (%r)" %
                 (t, r))
    healthy(c, ck, "1-insecure")
    # And on a secured cluster, none of it reaches Raft without the secret.
    c.finish(ck)
    c = Cluster(3, name="hostile-nosecret")
    lead, term = c.stable_leader()
    f1, f2 = [n for n in c.ids() if n != lead]
    try:
        peerwire.call(c.peer_port(f1), "appendEntries",
                      peerwire.pack_append(f2, f1, MAX_TERM, 0, 0, 0, 1))
        ck.check(False, "an unsigned appendEntries was accepted")
    except xmlrpc.client.Fault as f:
        ck.eq(f.faultCode, UNAUTHORIZED, "an unsigned appendEntries with "
              "the top term: fault 5")
    healthy(c, ck, "unsigned")
    c.finish(ck)


rt.run(main)
