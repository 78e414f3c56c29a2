"""errors.py: the exceptions every raftd test script shares.

TestFailure: a check that cannot go on (the rest of the test depends on
it); a cluster test counts it as a failed check.  HarnessError: the harness
itself failed (a process that would not start or stop, a port, a command);
a subclass, so that a cluster test counts it the same way, while the fault
runs exit 99 on it.  Skip: this run cannot be done here (exit 77).
"""


class TestFailure(Exception):
    """A check that cannot go on (the rest of the test depends on it)."""


class HarnessError(TestFailure):
    """The harness failed: processes, ports, network setup, a command."""


class Skip(Exception):
    """This run cannot be done here (automake exit status 77)."""
