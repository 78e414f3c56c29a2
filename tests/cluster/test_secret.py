# test_secret.py: peers prove the cluster secret with an HMAC (never the secret itself); calls without a valid proof are fault 5 and change nothing; replays are refused.
import os
import sys
import time
import xmlrpc.client

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import peerwire  # noqa: E402
from raftdtest import INVALID, UNAUTHORIZED, Cluster  # noqa: E402

SECRET = "s3cr3t-for-the-test"
HUGE_TERM = 1 << 40


def append_frame(frm, to, term):
    return peerwire.pack_append(frm, to, term, 0, 0, 0, 1)


def vote_frame(frm, to, term):
    return peerwire.pack_vote(frm, to, term, 1 << 30, HUGE_TERM
                              if term >= HUGE_TERM else 0)


def terms(c):
    return {nid: (st["term"], st["leader"]) for nid, st in
            c.statuses().items()}


def main(ck):
    c = Cluster(3, name="secret", secret=SECRET)
    lead, term = c.stable_leader()
    ck.eq(c.call_with_retry("put", "k", "v"), True, "the cluster with a "
          "secret elects and commits")
    c.wait_caught_up()
    before = terms(c)
    other = [n for n in c.ids() if n != lead]
    now = int(time.time() * 1000)

    def signed(frame, secret, seq=1, when=None):
        return peerwire.sign_request(frame, secret, 77, seq, when or now)

    def tampered(frame):
        f = bytearray(signed(frame, SECRET))
        f[12] ^= 1  # the term, after signing
        return bytes(f)

    def truncated_mac(frame):
        return signed(frame, SECRET)[:-1]

    def secret_in_clear(frame):
        return frame + SECRET.encode()

    attempts = [
        ("no proof", lambda f: f),
        ("a proof with a wrong secret", lambda f: signed(f, "wrong")),
        ("a proof with an empty secret", lambda f: signed(f, "")),
        ("a proof with a prefix of the secret",
         lambda f: signed(f, SECRET[:-1])),
        ("a proof with the secret plus a byte",
         lambda f: signed(f, SECRET + "x")),
        ("a frame altered after signing", tampered),
        ("a truncated MAC", truncated_mac),
        ("the secret sent in clear", secret_in_clear),
        ("a right proof 10 minutes old",
         lambda f: signed(f, SECRET, when=now - 600000)),
        ("a right proof 10 minutes ahead",
         lambda f: signed(f, SECRET, when=now + 600000)),
    ]
    refused = 0
    for target in [other[0], lead]:
        frm = [n for n in c.ids() if n != target][0]
        for what, make in attempts:
            for method, frame in (("appendEntries",
                                   append_frame(frm, target, HUGE_TERM)),
                                  ("requestVote",
                                   vote_frame(frm, target, HUGE_TERM))):
                body = make(frame)
                try:
                    peerwire.call(c.peer_port(target), method, body)
                    ck.check(False, "%s with %s to node %d was accepted" %
                             (method, what, target))
                except xmlrpc.client.Fault as e:
                    # A frame that does not even parse is fault 3; every
                    # parsable one without a valid proof is fault 5.
                    ok = e.faultCode == UNAUTHORIZED or (
                        e.faultCode == INVALID and "bad frame" in e.faultString)
                    ck.check(ok, "%s with %s to node %d: fault %d %r" %
                             (method, what, target, e.faultCode,
                              e.faultString))
                    refused += ok
    after = terms(c)
    ck.eq(after, before, "no node's term or leader changed")
    ck.check(all(t < HUGE_TERM for t, _ in after.values()),
             "no node took the term 2^40")
    ck.note("%d forged appendEntries/requestVote calls (%d kinds) to a "
            "follower and the leader refused; terms unchanged %r" %
            (refused, len(attempts), after))

    # With a valid proof the call reaches Raft (here a heartbeat from the
    # leader's id at its term), and the answer is MAC'd and bound to the
    # request.
    r = peerwire.call(c.peer_port(other[0]), "appendEntries",
                      peerwire.sign_request(
                          peerwire.pack_append(lead, other[0], 1, 0, 0, 0,
                                               1), SECRET, 77, 2))
    d = peerwire.unpack(r)
    ck.check(d["type"] == peerwire.APPEND_RESP and d["from"] == other[0],
             "appendEntries with a valid proof reaches Raft and is "
             "answered (%r)" % (d,))
    ck.check(peerwire.check_response(r, SECRET, 77, 2),
             "the answer carries a MAC bound to the request")
    ck.check(not peerwire.check_response(r, SECRET, 77, 3),
             "... and to no other request")
    # The very same request again is a replay.
    req = peerwire.sign_request(peerwire.pack_vote(other[1], other[0], 1, 0,
                                                   0), SECRET, 78, 5)
    r = peerwire.call(c.peer_port(other[0]), "requestVote", req)
    ck.check(peerwire.unpack(r)["granted"] == 0,
             "requestVote with a valid proof and a stale term: not granted")
    ck.fault(lambda: peerwire.call(c.peer_port(other[0]), "requestVote",
                                   req), UNAUTHORIZED,
             "the same signed request sent twice: the replay is refused")
    ck.eq(terms(c), before, "still no change")

    # A validly signed frame addressed to ANOTHER node (as a sniffer could
    # capture and replay) is refused by its header before it reaches the
    # receiver's replay window: the sender's later frames to this node
    # still pass (this once locked a follower out of its leader).
    b, cnode = other[0], other[1]
    wrong_to = peerwire.sign_request(
        peerwire.pack_vote(lead, cnode, 1, 0, 0), SECRET, 4242, 5000)
    ck.fault(lambda: peerwire.call(c.peer_port(b), "requestVote",
                                   wrong_to), INVALID,
             "a signed frame for node %d replayed at node %d" % (cnode, b))
    r = peerwire.call(c.peer_port(b), "requestVote", peerwire.sign_request(
        peerwire.pack_vote(lead, b, 1, 0, 0), SECRET, 4242, 1))
    ck.eq(peerwire.unpack(r)["type"], peerwire.VOTE_RESP,
          "the same epoch's seq 1 to node %d still passes its window" % b)

    # A node configured with another secret cannot join or disturb.
    rogue = other[1]
    c.stop(rogue)
    conf2 = os.path.join(c.dir, "rogue.conf")
    with open(conf2, "w") as f:
        f.write(c.config_text().replace(SECRET, "not-the-secret"))
    c.spawn_node(rogue, ["-c", conf2])
    rt.wait_for(lambda: c.status(rogue)["id"] == rogue, 15,
                "the rogue node to answer")
    st0 = c.status(rogue)
    for i in range(5):
        ck.eq(c.call_with_retry("put", "while-rogue/%d" % i, "x"), True,
              "put %d while a node has the wrong secret" % i)
    # Give the rogue several election timeouts to try to disturb: it must
    # never lead, and (pre-vote refused) never raise its term, so it
    # cannot push the others' term either.
    deadline = time.monotonic() + 1.5
    states = set()
    for _ in range(200):
        if time.monotonic() >= deadline:
            break
        states.add(c.status(rogue)["state"])
        time.sleep(0.02)  # a sampling pace, not a condition
    st = c.status(rogue)
    ck.check("leader" not in states, "the rogue never led (%s)" %
             sorted(states))
    ck.eq(st["lastLogIndex"], st0["lastLogIndex"], "the rogue node received "
          "no entries")
    ck.eq(st["term"], st0["term"], "the rogue's term did not grow")
    lead2, term2 = c.stable_leader(nids=[n for n in c.ids() if n != rogue])
    ck.check(lead2 != rogue, "the others follow one of them (%d)" % lead2)
    if (lead2, term2) != (lead, term):
        ck.note("the good nodes re-elected meanwhile (%d/%d -> %d/%d), not "
                "because of the rogue (its term stayed %d)" %
                (lead, term, lead2, term2, st["term"]))
    ck.check("nauthorized" in c.log_text(rogue) or
             any("nauthorized" in c.log_text(n) for n in c.ids()),
             "a log says why the peers are refused")
    ck.note("a node with another secret got no entries; leader %d stays in "
            "term %d" % (lead2, term2))

    # With the right secret it catches up.
    c.stop(rogue)
    c.start(rogue)
    c.wait_caught_up(timeout=15)
    ck.eq(c.call_with_retry("get", "while-rogue/4"), "x", "the cluster "
          "works with all three")
    c.finish(ck)


rt.run(main)
