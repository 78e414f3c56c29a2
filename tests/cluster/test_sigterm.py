# test_sigterm.py: SIGTERM and SIGINT stop a node cleanly (exit 0) within 3 s, also mid-request and under load.
import os
import signal
import sys
import threading
import time
import xmlrpc.client

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import Cluster  # noqa: E402

BOUND = 3.0


def stop_checked(ck, c, nid, sig, what):
    rc, took = c.stop(nid, sig=sig, timeout=BOUND + 5)
    ck.eq(rc, 0, "%s: node %d exit status on %s" %
          (what, nid, signal.Signals(sig).name))
    ck.check(took <= BOUND, "%s: node %d stopped in %.2f s (<= %.0f s)" %
             (what, nid, took, BOUND))
    log = c.log_text(nid).rsplit("=== harness:", 1)[-1]
    ck.check("stopped" in log.splitlines()[-1] if log.strip() else False,
             "%s: node %d's last log line says it stopped" % (what, nid))
    return took


def main(ck):
    # ---- every node of an idle cluster, followers first ---------------------
    c = Cluster(3, name="sigterm")
    lead, _ = c.stable_leader()
    for i in range(20):
        c.call_with_retry("put", "k%d" % i, "v%d" % i)
    c.wait_caught_up()
    order = [n for n in c.ids() if n != lead] + [lead]
    took = [stop_checked(ck, c, n, signal.SIGTERM, "idle cluster")
            for n in order]
    ck.note("SIGTERM of followers then leader: %s s" %
            ", ".join("%.2f" % t for t in took))

    # A clean stop keeps everything: restart all and read.
    for n in c.ids():
        c.start(n)
    c.stable_leader()
    got = c.call_with_retry("multiGet", ["k%d" % i for i in range(20)])
    ck.eq(got, {"k%d" % i: "v%d" % i for i in range(20)},
          "after a clean stop and restart every write is there")

    # ---- SIGINT too, on the leader ----------------------------------------------
    lead, _ = c.stable_leader()
    t = stop_checked(ck, c, lead, signal.SIGINT, "SIGINT")
    ck.note("SIGINT of the leader: %.2f s" % t)
    c.start(lead)
    c.stable_leader()

    # ---- the leader with a client waiting for a commit ----------------------------
    lead, _ = c.stable_leader()
    for n in c.ids():
        if n != lead:
            c.kill9(n)
    answer = []

    def waiting_put():
        try:
            answer.append(c.client(lead, timeout=20).put("pending", "x"))
        except xmlrpc.client.Fault as f:
            answer.append(f.faultCode)
        except rt.CONN_ERRORS as e:
            answer.append(repr(e))
    th = threading.Thread(target=waiting_put)
    th.start()
    # The put is in the node once it has been sent; the node answers it
    # only after its own election timeout (it steps down) at the earliest.
    time.sleep(0.05)  # let the request leave, not a condition
    t = stop_checked(ck, c, lead, signal.SIGTERM, "a put waiting for a "
                     "quorum")
    th.join(15)
    ck.check(not th.is_alive(), "the waiting client got an answer")
    ck.check(len(answer) == 1 and answer[0] is not True,
             "the waiting put did not succeed (%r)" % (answer,))
    ck.note("SIGTERM with a put waiting: stopped in %.2f s, client got %r" %
            (t, answer))
    c.finish(ck)

    # ---- a single node under write load ---------------------------------------------
    c = Cluster(1, name="sigterm-load")
    c.stable_leader()
    acked = {}
    stop = threading.Event()

    def writer(w):
        for i in range(100000):
            if stop.is_set():
                return
            k = "w%d/%d" % (w, i)
            try:
                if c.client(1, timeout=5).put(k, k) is True:
                    acked[k] = k
            except (xmlrpc.client.Fault,) + rt.CONN_ERRORS:
                return
    ws = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for w in ws:
        w.start()
    rt.wait_for(lambda: len(acked) >= 200, 30, "200 acknowledged puts")
    t = stop_checked(ck, c, 1, signal.SIGTERM, "4 writers busy")
    stop.set()
    for w in ws:
        w.join(15)
    ck.check(not any(w.is_alive() for w in ws), "the writers ended")
    c.start(1)
    c.stable_leader()
    got = {e["key"]: e["value"] for e in c.call_with_retry("list", "w")}
    lost = [k for k in acked if got.get(k) != acked[k]]
    ck.eq(lost, [], "every acknowledged put survives the SIGTERM (%d)" %
          len(acked))
    ck.note("SIGTERM under load (%d puts acknowledged): %.2f s" %
            (len(acked), t))
    c.finish(ck)


rt.run(main)
