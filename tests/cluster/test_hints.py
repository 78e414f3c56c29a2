# test_hints.py: followers refuse writes and reads with fault 1 naming the leader.
import os
import sys
import xmlrpc.client

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import NOT_LEADER, Cluster  # noqa: E402

CALLS = [
    ("put", ("hk", "hv")),
    ("put", ("hk", "hv", "hint-tid-1")),
    ("addEntry", ("hint-tid-2", "data")),
    ("delete", ("hk",)),
    ("cas", ("hk", "", "x")),
    ("multiPut", ({"a": "1"},)),
    ("get", ("hk",)),
    ("list", ("",)),
    ("multiGet", (["hk"],)),
    ("getEntries", (1, 10)),
]


def main(ck):
    c = Cluster(3, name="hints")
    lid, term = c.stable_leader()
    c.call_with_retry("put", "hk", "on the leader")
    want = "not leader; leader=%d@%s" % (lid, c.address(lid))
    followers = [n for n in c.ids() if n != lid]
    for nid in followers:
        for method, args in CALLS:
            # The leader may move on a loaded machine: then the expected
            # hint moves with it.
            f = ck.fault(lambda: getattr(c.client(nid), method)(*args),
                         NOT_LEADER, "%s on follower %d" % (method, nid))
            if f is not None:
                cur = c.status(nid)["leader"]
                exp = want if cur == lid else \
                    "not leader; leader=%d@%s" % (cur, c.address(cur))
                ck.eq(f.faultString, exp, "%s on follower %d: the hint" %
                      (method, nid))
        st = c.status(nid)
        ck.eq(st["leaderAddress"], c.address(st["leader"]),
              "follower %d: status().leaderAddress" % nid)
    # The follower appended nothing: the leader's log has none of the
    # tids sent to followers.
    c.wait_caught_up()
    tids = [e["tid"] for e in c.client(c.leader()).showLog(1, 1000)]
    ck.check("hint-tid-1" not in tids and "hint-tid-2" not in tids,
             "refused writes left no entries (%r)" % tids)
    ck.eq(c.call_with_retry("get", "hk"), "on the leader",
          "the refused writes changed nothing")
    ck.note("followers %s: %d methods each answer %r" %
            (followers, len(CALLS), want))

    # A node that knows no leader says so.
    c.kill9(followers[0])
    c.kill9(lid)
    lone = followers[1]

    def unknown():
        try:
            c.client(lone).put("x", "y")
        except xmlrpc.client.Fault as f:
            return f.faultString == "not leader; leader=unknown" and f
        return False
    f = rt.wait_for(unknown, 10, "node %d to report leader=unknown" %
                    lone)
    ck.eq(f.faultCode, NOT_LEADER, "lone node: fault code")
    ck.fault(lambda: c.client(lone).get("hk"), NOT_LEADER, "lone node: get")
    st = c.status(lone)
    ck.eq((st["leader"], st["leaderAddress"]), (0, ""),
          "lone node: status() leader 0 and leaderAddress \"\"")
    ck.note("a node without a leader answers 'not leader; leader=unknown'")
    c.finish(ck)


rt.run(main)
