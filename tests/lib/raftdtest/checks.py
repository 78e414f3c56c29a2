"""checks.py: counted checks and the runner of a cluster test's main function (automake's exit codes)."""
import os
import signal
import sys
import threading
import time
import traceback
import xmlrpc.client

from raftdtest import cluster, proc
from raftdtest.errors import TestFailure


class _Abort(TestFailure):
    """Raised by Checker.require() after counting the failed check."""


class Checker:
    """Counts checks; a failed check is reported and counted, and the test
    goes on (use require() when the rest depends on it)."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0
        self.lock = threading.Lock()

    def check(self, cond, what):
        with self.lock:
            if cond:
                self.passed += 1
            else:
                self.failed += 1
                print("FAIL: %s" % what, flush=True)
        return bool(cond)

    def eq(self, got, want, what):
        return self.check(got == want,
                          "%s: got %r, want %r" % (what, got, want))

    def require(self, cond, what):
        if not self.check(cond, what):
            raise _Abort(what)

    def fault(self, fn, codes, what):
        """Calls fn(); passes if it raises an XML-RPC fault whose code is
        in `codes` (an int or a tuple).  Returns the fault (or None)."""
        if isinstance(codes, int):
            codes = (codes,)
        try:
            r = fn()
        except xmlrpc.client.Fault as f:
            self.check(f.faultCode in codes,
                       "%s: fault %d (%s), want fault %s" %
                       (what, f.faultCode, f.faultString, codes))
            return f
        self.check(False, "%s: returned %r, want fault %s" % (what, r, codes))
        return None

    def note(self, msg):
        print("%s: %s" % (self.name, msg), flush=True)


def on_signal(signum, frame):
    """Ends the program through the same cleanup as a failure."""
    raise SystemExit(128 + signum)


def run(main):
    """Runs main(checker) as a test program: prints the checks, cleans up
    every cluster (also on an exception, SIGTERM or SIGHUP), prints the
    tail of every node's log when something failed, prints "N passed, M
    failed" and exits 0 only if all passed (99 if raftd is not built)."""
    name = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    ck = Checker(name)
    if not os.access(proc.raftd_path(), os.X_OK):
        print("%s: %s is not built" % (name, proc.raftd_path()))
        sys.exit(99)
    t0 = time.monotonic()
    try:
        main(ck)
    except _Abort:
        pass
    except TestFailure as e:
        ck.check(False, "aborted: %s" % e)
    except BaseException:  # noqa: BLE001 - report anything, then clean up
        traceback.print_exc()
        ck.check(False, "aborted by an exception")
    finally:
        cl = cluster.clusters()
        for c in cl:
            for problem in c.close():
                ck.check(False, problem)
        if ck.failed:
            for c in cl:
                c.print_logs()
        for c in cl:
            c.remove()
    print("%s: %.1f s" % (name, time.monotonic() - t0))
    print("%d passed, %d failed" % (ck.passed, ck.failed), flush=True)
    sys.exit(1 if ck.failed else 0)
