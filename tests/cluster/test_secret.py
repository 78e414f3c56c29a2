# test_secret.py: with cluster.secret set, peer calls without it are fault 5 and change nothing.
import os
import sys
import time
import xmlrpc.client

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import UNAUTHORIZED, Cluster  # noqa: E402

SECRET = "s3cr3t-for-the-test"
HUGE_TERM = 1 << 40


def member(name, kind, value):
    if kind == "boolean":
        value = "1" if value else "0"
    elif kind == "string":
        value = xmlrpc.client.escape(value)
    elif kind == "array":
        value = "<data></data>"
    return ("<member><name>%s</name><value><%s>%s</%s></value></member>" %
            (name, kind, value, kind))


def peer_call(method, fields, secret=None, secret_kind="string"):
    """The XML of a peer call with 64-bit ints as <i8> (which Python's
    marshaller does not write), like raftd's own peers send."""
    ms = [member(n, k, v) for n, k, v in fields]
    if secret is not None:
        ms.append(member("secret", secret_kind, secret))
    return ("<?xml version='1.0'?><methodCall><methodName>%s</methodName>"
            "<params><param><value><struct>%s</struct></value></param>"
            "</params></methodCall>" % (method, "".join(ms))).encode()


def append_fields(frm, to, term):
    return [("from", "i4", frm), ("to", "i4", to), ("term", "i8", term),
            ("prevIndex", "i8", 0), ("prevTerm", "i8", 0),
            ("commit", "i8", 0), ("seq", "i8", 1), ("entries", "base64", "")]


def vote_fields(frm, to, term):
    return [("from", "i4", frm), ("to", "i4", to), ("term", "i8", term),
            ("prevote", "boolean", False), ("lastLogIndex", "i8", 1 << 30),
            ("lastLogTerm", "i8", HUGE_TERM)]


def post(c, nid, body):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", c.nodes[nid].port,
                                      timeout=10)
    try:
        conn.request("POST", "/RPC2", body=body,
                     headers={"Content-Type": "text/xml"})
        r = conn.getresponse()
        data = r.read()
    finally:
        conn.close()
    return xmlrpc.client.loads(data)[0][0]


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
    attempts = [
        ("no secret", None, "string"),
        ("a wrong secret", "wrong", "string"),
        ("an empty secret", "", "string"),
        ("a prefix of the secret", SECRET[:-1], "string"),
        ("the secret plus a byte", SECRET + "x", "string"),
        ("the secret as an int", "12345", "i4"),
    ]
    for target in [other[0], lead]:
        frm = [n for n in c.ids() if n != target][0]
        for what, secret, kind in attempts:
            for method, fields in (("appendEntries",
                                    append_fields(frm, target, HUGE_TERM)),
                                   ("requestVote",
                                    vote_fields(frm, target, HUGE_TERM))):
                body = peer_call(method, fields, secret, kind)
                ck.fault(lambda: post(c, target, body), UNAUTHORIZED,
                         "%s with %s to node %d (term 2^40)" %
                         (method, what, target))
    after = terms(c)
    ck.eq(after, before, "no node's term or leader changed")
    ck.check(all(t < HUGE_TERM for t, _ in after.values()),
             "no node took the term 2^40")
    ck.note("appendEntries/requestVote with %d kinds of bad secret to a "
            "follower and the leader: fault 5, terms unchanged %r" %
            (len(attempts), after))

    # The same calls with the right secret are well-formed: a stale term
    # (0) gets an answer and changes nothing either.
    frm = lead
    r = post(c, other[0], peer_call("appendEntries",
                                    append_fields(frm, other[0], 0), SECRET))
    ck.check(isinstance(r, dict) and r.get("success") is False,
             "appendEntries with the secret and a stale term: refused by "
             "Raft, not by the secret check (%r)" % (r,))
    r = post(c, other[0], peer_call("requestVote",
                                    vote_fields(other[1], other[0], 0),
                                    SECRET))
    ck.check(isinstance(r, dict) and r.get("granted") is False,
             "requestVote with the secret and a stale term: not granted (%r)"
             % (r,))
    ck.eq(terms(c), before, "still no change")

    # A node configured with another secret cannot join or disturb.
    rogue = other[1]
    c.stop(rogue)
    conf2 = os.path.join(c.dir, "rogue.conf")
    with open(conf2, "w") as f:
        f.write(c.config_text().replace(SECRET, "not-the-secret"))
    c._spawn(rogue, ["-c", conf2])
    harness.wait_for(lambda: c.status(rogue)["id"] == rogue, 15,
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


harness.run(main)
