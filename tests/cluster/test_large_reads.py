# test_large_reads.py: large answers page and never stall the leader: 100,000 keys listed by 4 clients at once (term, leader, response sizes, RSS), raftctl list over them, and byte-capped pages of values heavy with XML escapes.
#
# Before the reads were copied out under the node's lock and built outside
# it, one list() of 100,000 keys held the lock for ~0.2 s (the leader lost
# its term every time) and four at once took the leader from 48 MB to
# 831 MB RSS with 43.7 MB responses.  Now list() of that many is fault 3 and
# list(prefix, after, limit) pages of at most 10,000 keys and 4 MiB.
import os
import subprocess
import sys
import threading
import time
import xmlrpc.client

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import INVALID, Cluster  # noqa: E402

N_KEYS = 100000
BATCH = 1000
PAGE_MAX = 10000            # KV_PAGE_MAX, docs/API.md
RESPONSE_MAX = 4 * 1024 * 1024  # the documented response limit
LISTERS = 4
ROUNDS = 2                  # full paged listings per lister
KIB = 1024


def sanitized(pid):
    """True when raftd runs with ASan or TSan, whose shadow memory and
    quarantine of freed blocks make RSS figures meaningless, and which
    slow everything down a few times."""
    try:
        with open("/proc/%d/maps" % pid) as f:
            maps = f.read()
    except OSError:
        return False
    return "libasan" in maps or "libtsan" in maps


def key(i):
    return "key/%06d" % i


def value(i):
    # XML specials on purpose: the server must count them escaped.
    return "%06d:<&>xxxxxxxxxxxxxxxx" % i


def raftctl_path():
    return rt.build_path("raftctl")


def load(ck, c, lid):
    """N_KEYS keys in multiPut batches, 4 writers at once."""
    errors = []

    def writer(w):
        try:
            for b in range(w, N_KEYS // BATCH, 4):
                pairs = {key(i): value(i)
                         for i in range(b * BATCH, (b + 1) * BATCH)}
                c.call_with_retry("multiPut", pairs, "load-%d" % b,
                                  start=lid, timeout=60)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))
    t0 = time.monotonic()
    ws = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for w in ws:
        w.start()
    for w in ws:
        w.join(120)
    ck.require(not errors and not any(w.is_alive() for w in ws),
               "loading %d keys (%s)" % (N_KEYS, errors[:1]))
    return time.monotonic() - t0


def list_paged(c, nid, prefix, limit, sizes):
    """Every key with the prefix through list(prefix, after, limit), page
    after page until an empty one; appends each response's size to
    `sizes`.  nid None: on whichever node leads.  Returns (pairs,
    pages)."""
    out, after, pages = [], "", 0
    for _ in range(N_KEYS):
        if nid is None:
            page, size = on_leader(c, "list", prefix, after, limit)
        else:
            page, size = c.call_sized(nid, "list", prefix, after, limit,
                                      timeout=60)
        sizes.append(size)
        pages += 1
        if not page:
            return out, pages
        out.extend((e["key"], e["value"]) for e in page)
        after = page[-1]["key"]
    raise rt.TestFailure("list paging did not end")


class Monitor(threading.Thread):
    """Polls every node's status() and the leader's VmRSS until stopped:
    the terms and leaders seen, the highest RSS."""

    def __init__(self, c, lid):
        super().__init__()
        self.c, self.lid = c, lid
        self.pid = c.nodes[lid].pid
        self.stop = threading.Event()
        self.terms, self.leaders, self.states = set(), set(), set()
        self.rss_max = 0
        self.polls = 0
        self.errors = []

    def run(self):
        while not self.stop.is_set():
            self.rss_max = max(self.rss_max, rt.rss_kib(self.pid))
            for nid in self.c.ids():
                try:
                    st = self.c.status(nid, timeout=5)
                except rt.CONN_ERRORS as e:
                    self.errors.append("node %d: %r" % (nid, e))
                    continue
                self.terms.add(st["term"])
                self.leaders.add(st["leader"])
                if nid == self.lid:
                    self.states.add(st["state"])
            self.polls += 1
            self.stop.wait(0.05)


def on_leader(c, method, *args):
    """call_sized() on whichever node leads now: the writes of big values
    below fsync megabytes, and on a loaded machine (or under a sanitizer)
    a follower's slow fsync can cost the leader its term; these reads
    check sizes, not leadership."""
    last = None
    for _ in range(20):
        nid = c.leader(timeout=15)
        try:
            return c.call_sized(nid, method, *args, timeout=60)
        except xmlrpc.client.Fault as f:
            if f.faultCode not in (rt.NOT_LEADER, rt.TIMEOUT,
                                   rt.UNAVAILABLE):
                raise
            last = f
        except rt.CONN_ERRORS as e:
            last = e
    raise rt.TestFailure("%s%r: no leader answered (%r)" %
                         (method, args[:2], last))


def big_keys_list(ck, c, lid):
    """Values of 128 KiB of '&' (640 KiB escaped): pages cut by bytes, not
    by count; multiGet over the limit is fault 3; addEntry records of 200
    KiB of '<' page through getEntries and showLog under the limit."""
    cr = c.call_with_retry
    big = "&" * (128 * KIB)
    for i in range(24):
        cr("put", "big/%02d" % i, big, start=lid)
    try:
        on_leader(c, "list", "big/")
        ck.check(False, "list(\"big/\") of 24 x 640 KiB escaped is fault 3")
    except xmlrpc.client.Fault as f:
        ck.eq(f.faultCode, INVALID, "list(\"big/\") over 4 MiB: fault 3")
    sizes = []
    got, pages = list_paged(c, None, "big/", 100, sizes)
    ck.eq([k for k, _ in got], ["big/%02d" % i for i in range(24)],
          "paged list of the big keys: each once, in order")
    ck.check(all(v == big for _, v in got), "the big values are intact")
    ck.check(max(sizes) <= RESPONSE_MAX,
             "big pages: largest response %d bytes <= 4 MiB" % max(sizes))
    per_page = 24 / max(1, pages - 1)
    ck.check(per_page <= 6.5, "big pages are cut by bytes (%.1f keys a "
             "page)" % per_page)
    ck.note("24 values of 128 KiB '&': %d pages, largest response %d bytes"
            % (pages, max(sizes)))

    try:
        on_leader(c, "multiGet", ["big/%02d" % i for i in range(24)])
        ck.check(False, "multiGet over 4 MiB is fault 3")
    except xmlrpc.client.Fault as f:
        ck.check(f.faultCode == INVALID and "4 MiB" in f.faultString,
                 "multiGet over 4 MiB: fault 3 naming the limit (%r)" %
                 f.faultString)
    got, size = on_leader(c, "multiGet", ["big/00", "big/01", "nope"])
    ck.eq(sorted(got), ["big/00", "big/01"], "multiGet under the limit")

    # The largest value allowed, escaped 5x, still comes back alone.
    huge = "&" * (256 * KIB)
    cr("put", "huge", huge, start=lid)
    (page, size) = on_leader(c, "list", "huge", "", 10)
    ck.check(len(page) == 1 and page[0]["value"] == huge and
             size <= RESPONSE_MAX,
             "a 256 KiB value of '&' (%d bytes of XML) fits one page" % size)

    # The largest addEntry data, 256 KiB of '&' (1.25 MiB escaped): a
    # page of one still holds it.
    cr("addEntry", "huge-entry", huge, start=lid)
    idx, frm = [], 1
    for _ in range(1000):
        page = on_leader(c, "getEntries", frm, 10000)[0]
        if not page:
            break
        idx += [e["index"] for e in page if e["tid"] == "huge-entry"]
        frm = page[-1]["index"] + 1
    ck.require(len(idx) == 1, "the huge entry is in the log once")
    for method in ("getEntries", "showLog"):
        page, size = on_leader(c, method, idx[0], 1)
        ck.check(len(page) == 1 and page[0]["data"] == huge and
                 size <= RESPONSE_MAX, "%s(index, 1) returns the 256 KiB "
                 "entry alone (%d bytes of XML)" % (method, size))

    data = "<" * (200 * KIB)
    for i in range(12):
        cr("addEntry", "big-entry-%d" % i, data, start=lid)
    for method in ("getEntries", "showLog"):
        sizes, got, frm, pages = [], [], 1, 0
        for _ in range(1000):
            page, size = on_leader(c, method, frm, 1000)
            sizes.append(size)
            pages += 1
            if not page:
                break
            got.extend(e["tid"] for e in page if e["data"] == data)
            frm = page[-1]["index"] + 1
        got = [t for t in got if t != "huge-entry"]
        ck.eq(got, ["big-entry-%d" % i for i in range(12)],
              "%s pages through 12 records of 200 KiB '<'" % method)
        ck.check(max(sizes) <= RESPONSE_MAX,
                 "%s: largest response %d bytes <= 4 MiB" %
                 (method, max(sizes)))
        ck.note("%s over 12 x 200 KiB of '<' (800 KiB escaped): %d pages, "
                "largest response %d bytes" % (method, pages, max(sizes)))


def calendar(ck, c, lid):
    """raftctl's calendar stores events as keys: a month of 12,000 events
    is past one response, and cal list / cal del page through it."""
    n_ev = 12000

    def ev_key(i):
        return "cal/2031-03-%02d/%02d:%02d/e%05d" % (
            1 + i % 31, i % 24, i % 60, i)
    for b in range(n_ev // BATCH):
        c.call_with_retry("multiPut", {ev_key(i): "event %d" % i for i in
                                       range(b * BATCH, (b + 1) * BATCH)},
                          "cal-%d" % b, start=lid, timeout=60)
    ctl = [raftctl_path(), "-c", c.conf]
    p = subprocess.run(ctl + ["cal", "list", "2031-03"], capture_output=True,
                       text=True, timeout=120)
    events = [ln for ln in p.stdout.splitlines()
              if ln.startswith("2031-03-")]
    ck.eq((p.returncode, len(events)), (0, n_ev),
          "raftctl cal list of a month of %d events prints them all (%s)" %
          (n_ev, p.stderr.strip()))
    ck.check(events == sorted(events), "... in date and time order")
    p = subprocess.run(ctl + ["cal", "del", "e00042"], capture_output=True,
                       text=True, timeout=120)
    ck.eq(p.returncode, 0, "raftctl cal del finds an event among %d (%s)" %
          (n_ev, p.stderr.strip()))
    ck.fault(lambda: c.client(c.leader()).get(ev_key(42)), rt.NOT_FOUND,
             "the deleted event's key is gone")
    ck.note("calendar: %d events in one month listed and one deleted "
            "through pages" % n_ev)


def main(ck):
    # Election timeouts of 400-800 ms: on a 2-core machine running other
    # tests side by side, CPU starvation alone can cost a 150 ms leader its
    # term, which is not what this test is about.  The fixed bug (a list()
    # held the lock ~200 ms, and four of them back to back ~0.8 s) still
    # deposes such a leader; and the CPU bound below pins the fix exactly.
    # A node that held 100,000 keys and four listers' pages exits slowly
    # under LeakSanitizer (it scans a heap of ~500 MB at exit, seconds on
    # a loaded machine), hence the longer bound on a stop.
    c = Cluster(3, name="large-reads", election=(400, 800), heartbeat=50,
                stop_timeout=20.0)
    lid, term = c.stable_leader()
    took = load(ck, c, lid)
    ck.note("loaded %d keys in %d multiPut batches in %.1f s" %
            (N_KEYS, N_KEYS // BATCH, took))
    ck.require(c.stable_leader() == (lid, term),
               "the leader and term are unchanged by the load")
    rss0 = rt.rss_kib(c.nodes[lid].pid)
    san = sanitized(c.nodes[lid].pid)
    copy0 = -1

    # ---- the unpaged forms -------------------------------------------------
    for prefix in ((), ("",), ("key/",)):
        try:
            c.call_sized(lid, "list", *prefix)
            ck.check(False, "list%r of %d keys is refused" % (prefix, N_KEYS))
        except xmlrpc.client.Fault as f:
            ck.check(f.faultCode == INVALID and
                     "list(prefix, after, limit)" in f.faultString and
                     "4 MiB" in f.faultString and "10000" in f.faultString,
                     "list%r of %d keys: fault 3 naming the limit and the "
                     "paged form (%r)" % (prefix, N_KEYS, f.faultString))
        if not prefix:
            copy0 = c.status(lid).get("readCopyCpuMaxUs", -1)
    page, size = c.call_sized(lid, "list", "key/09")
    ck.eq([e["key"] for e in page], [key(i) for i in range(90000, 100000)],
          "list(\"key/09\"): exactly 10,000 keys still come in one answer")
    ck.check(size <= RESPONSE_MAX, "... in %d bytes" % size)
    ck.eq(c.call_sized(lid, "list", "key/1")[0], [], "list of no key: []")
    ck.fault(lambda: c.client(lid).list("", "", 0), INVALID, "limit 0")
    ck.fault(lambda: c.client(lid).list("", "", -5), INVALID, "limit < 0")
    small, _ = c.call_sized(lid, "list", "", "key/000009", 3)
    ck.eq([e["key"] for e in small], [key(10), key(11), key(12)],
          "list(\"\", after, 3): the next 3 keys after `after`")

    # ---- 4 clients list everything at once, twice ---------------------------
    mon = Monitor(c, lid)
    mon.start()
    results, faults, errors = [], [], []
    lock = threading.Lock()

    def lister(w):
        try:
            for r in range(ROUNDS):
                try:
                    c.call_sized(lid, "list", timeout=60)
                    with lock:
                        faults.append(None)
                except xmlrpc.client.Fault as f:
                    with lock:
                        faults.append((f.faultCode, f.body_bytes))
                sizes = []
                t0 = time.monotonic()
                pairs, pages = list_paged(c, lid, "", PAGE_MAX, sizes)
                with lock:
                    results.append((pairs, pages, sizes,
                                    time.monotonic() - t0))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append("lister %d: %r" % (w, e))
    t0 = time.monotonic()
    ls = [threading.Thread(target=lister, args=(w,)) for w in range(LISTERS)]
    for t in ls:
        t.start()
    for t in ls:
        t.join(300)
    wall = time.monotonic() - t0
    mon.stop.set()
    mon.join(30)
    ck.require(not errors and not any(t.is_alive() for t in ls),
               "the listers finished (%s)" % errors[:1])
    want = [(key(i), value(i)) for i in range(N_KEYS)]
    for pairs, pages, sizes, t in results:
        ck.check(pairs == want, "a paged listing returned every key exactly "
                 "once, in order, with its value (%d pairs)" % len(pairs))
    all_sizes = [s for r in results for s in r[2]]
    ck.check(max(all_sizes) <= RESPONSE_MAX,
             "no response over 4 MiB (largest %d bytes)" % max(all_sizes))
    ck.check(all(f is not None and f[0] == INVALID for f in faults),
             "every concurrent list() got fault 3 (%r)" % faults[:2])
    ck.eq(mon.terms, {term}, "every node's term stayed %d throughout" % term)
    ck.eq(mon.leaders, {lid}, "every node saw leader %d throughout" % lid)
    ck.eq(mon.states, {"leader"}, "node %d stayed leader" % lid)
    ck.check(not mon.errors, "status() always answered (%s)" %
             mon.errors[:1])
    st = c.status(lid)
    ck.eq(st["term"], term, "the leader's term after the listings")
    copy_us = st.get("readCopyMaxUs", -1)
    cpu_us = st.get("readCopyCpuMaxUs", -1)
    # Copying 10,000 keys out of the map costs ~0.5 ms of CPU (a few times
    # that under a sanitizer); the lock used to be held ~200 ms while the
    # reply was built.  The wall time adds whatever the scheduler gave
    # other processes meanwhile (make check runs tests side by side on 2
    # cores): bounded by the shortest election timeout, past which the
    # followers would have started an election.
    cpu_bound = 50000 if san else 10000
    ck.check(0 <= cpu_us <= cpu_bound, "the longest copy under the node's "
             "lock took %d us of CPU (<= %d ms)" % (cpu_us,
                                                    cpu_bound // 1000))
    ck.check(0 <= copy_us <= 400000, "and %d us of wall time (< 400 ms, "
             "the shortest election timeout)" % copy_us)
    # The bound: the leader's RSS after loading, plus for each of the 4
    # concurrent readers one response in the making: the memory its page
    # is copied into (kv's arenas: 5 MiB, kept for the next reads), the
    # xmlrpc-c values built from the page (~1 KiB an item: 10 MiB), the
    # serialized XML (< 4 MiB, in a buffer that grows by doubling: 8 MiB)
    # and Abyss's copy while sending; 32 MiB each, and 64 MiB for the
    # allocator's per-thread arenas keeping freed memory.  The unpaged
    # list() that was refused copies one page too.
    bound = rss0 + LISTERS * 32 * KIB + 64 * KIB
    if san:
        ck.note("a sanitizer build: RSS not checked (highest %d KiB)" %
                mon.rss_max)
    else:
        ck.check(mon.rss_max <= bound,
                 "the leader's RSS stayed <= %d KiB (highest %d KiB)" %
                 (bound, mon.rss_max))
    pages = [r[1] for r in results]
    times = [r[3] for r in results]
    ck.note("leader %d, term %d before and %d after; %d status polls saw "
            "terms %s" % (lid, term, st["term"], mon.polls,
                          sorted(mon.terms)))
    ck.note("leader RSS: %d KiB after loading, %d KiB at most during %d "
            "concurrent listers (bound %d KiB)" %
            (rss0, mon.rss_max, LISTERS, bound))
    ck.note("%d paged listings of %d keys: %s pages each, %.1f-%.1f s "
            "each, %.1f s in all; responses %d to %d bytes" %
            (len(results), N_KEYS, sorted(set(pages)), min(times),
             max(times), wall, min(all_sizes), max(all_sizes)))
    ck.note("unpaged list(): fault 3 in a %d-byte response; longest copy "
            "under the lock: %d us of CPU, %d us of wall time (%d us of CPU "
            "for one unpaged list() alone)" %
            (faults[0][1] if faults and faults[0] else -1, cpu_us, copy_us,
             copy0))

    # ---- raftctl follows the pages ------------------------------------------
    # The empty key is greater than no `after`: raftctl must fetch it on
    # its own when it pages.
    c.call_with_retry("put", "", "the empty key", start=lid)
    want = [("", "the empty key")] + want
    t0 = time.monotonic()
    p = subprocess.run([raftctl_path(), "-c", c.conf, "list"],
                       capture_output=True, text=True, timeout=120)
    t = time.monotonic() - t0
    lines = p.stdout.splitlines()
    ck.eq(p.returncode, 0, "raftctl list exits 0 (%s)" % p.stderr.strip())
    ck.check(lines == ["%s\t%s" % kv for kv in want],
             "raftctl list prints all %d keys and the empty one in order "
             "(%d lines)" % (N_KEYS, len(lines)))
    ck.note("raftctl list of %d keys and the empty one: %d lines in %.1f s" %
            (N_KEYS, len(lines), t))
    p = subprocess.run([raftctl_path(), "-c", c.conf, "list", "key/00001"],
                       capture_output=True, text=True, timeout=60)
    ck.eq((p.returncode, p.stdout),
          (0, "".join("%s\t%s\n" % (key(i), value(i))
                      for i in range(10, 20))),
          "raftctl list PREFIX of 10 keys: output as before")

    calendar(ck, c, lid)
    big_keys_list(ck, c, lid)
    end = c.stable_leader()
    st = c.status(end[0])
    ck.note("leader and term at the end: %r (writes of big values since "
            "the listings); its longest copy under the lock, big pages "
            "included: %d us of CPU, %d us of wall time" %
            (end, st["readCopyCpuMaxUs"], st["readCopyMaxUs"]))
    c.finish(ck)


rt.run(main)
