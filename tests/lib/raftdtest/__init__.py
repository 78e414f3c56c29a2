"""raftdtest: the Python side of raftd's tests and benchmarks, in one place (stdlib only).

A script adds tests/lib to sys.path, the same one line everywhere:

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
    import raftdtest as rt

    def main(ck):
        c = rt.Cluster(3, name="example")
        lid, term = c.stable_leader()
        ck.eq(c.call_with_retry("put", "k", "v"), True, "put")
        c.finish(ck)

    rt.run(main)

Modules: errors (TestFailure, HarnessError, Skip), api (fault codes, the
leader hint, the XML-RPC proxy), ports (free loopback ports), config (the
one config writer), proc (build paths, /proc, log tails), raftlog (the
raftlog reader), cluster (Cluster, wait_for), checks (Checker, run) and
peerwire (peer frames and their HMAC).  The names below are the ones most
scripts need.
"""
from raftdtest.api import (CONN_ERRORS, FAULT_NAMES, INVALID,
                           NOT_FOUND, NOT_LEADER, RETRY_CODES, TIMEOUT,
                           UNAUTHORIZED, UNAVAILABLE, MaybeDelivered,
                           hint_text, leader_hint, proxy)
from raftdtest.checks import Checker, on_signal, run
from raftdtest.cluster import (POLL, RPC_TIMEOUT, START_TIMEOUT,
                               STOP_TIMEOUT, Cluster, LoopbackNet, Node,
                               brief, wait_for)
from raftdtest.config import config_text, write_config
from raftdtest.errors import HarnessError, Skip, TestFailure
from raftdtest.ports import free_ports
from raftdtest.proc import (build_path, hwm_kib, pid_alive,
                            raftd_path, rss_kib, tail)

__all__ = [
    "CONN_ERRORS", "FAULT_NAMES", "INVALID", "NOT_FOUND", "NOT_LEADER",
    "RETRY_CODES", "TIMEOUT", "UNAUTHORIZED", "UNAVAILABLE",
    "MaybeDelivered", "hint_text", "leader_hint", "proxy",
    "Checker", "on_signal", "run",
    "POLL", "RPC_TIMEOUT", "START_TIMEOUT", "STOP_TIMEOUT", "Cluster",
    "LoopbackNet", "Node", "brief", "wait_for",
    "config_text", "write_config",
    "HarnessError", "Skip", "TestFailure",
    "free_ports",
    "build_path", "hwm_kib", "pid_alive", "raftd_path", "rss_kib", "tail",
]
