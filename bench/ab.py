#!/usr/bin/env python3
"""ab.py: two raftd builds against each other, interleaved, in one run.

For --rounds rounds, starts a fresh 5-node cluster of build A, measures,
stops it, then the same for build B (A, B, A, B, ...), so that a machine
that speeds up or slows down during the run affects both alike.  Each
round measures puts/s at 1 and 64 clients (100-byte values, fsync on),
put p50/p99, linearizable gets/s at 16 clients, and the server CPU per put
(utime+stime of all 5 members over the 64-client phase's measured window,
per put).  Prints one line per phase and a markdown table of medians with
the [min-max] range over rounds.

    bench/ab.py --a BUILD_A --b BUILD_B [--rounds 3] [--seconds 8]

A BUILD dir holds raftd and bench/raftbench (an out-of-tree build, or a
`git archive` of another commit built beside this one).  Talks only to
127.0.0.1; ends every process it starts by PID.
"""
import argparse
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sidebyside as sbs  # noqa: E402  (the cluster and load helpers)

PHASES = [("put", 1), ("put", 64), ("get", 16)]


def one_round(build, label, top, seconds, warmup):
    cl = sbs.Raftd(tempfile.mkdtemp(dir=top), build)
    out = {}
    try:
        cl.start_all()
        if cl.wait_leader(15) is None:
            raise RuntimeError("%s: no leader within 15 s" % label)
        for op, clients in PHASES:
            r = sbs.run_load(cl, op, clients, seconds, warmup, cl.dir)
            out[(op, clients)] = r
            sbs.log("%s %s c=%d: %.0f ops/s p50 %.2f ms p99 %.2f ms%s" % (
                label, op, clients, r["ops_per_s"], r.get("p50_ms", 0),
                r.get("p99_ms", 0),
                "  cpu/op %.0f us" % r["cpu_us_per_op"]
                if "cpu_us_per_op" in r else ""))
    finally:
        cl.stop_all()
    return out


def fmt(xs, f="%.0f"):
    if not xs:
        return "-"
    return (f + " [" + f + "-" + f + "]") % (sbs.med(xs), min(xs), max(xs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", required=True, help="build dir of A")
    ap.add_argument("--b", required=True, help="build dir of B")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args()
    top = tempfile.mkdtemp(prefix="raftd-ab-")
    res = {"A": [], "B": []}
    try:
        sbs.log("== %s" % sbs.machine_line())
        for rnd in range(args.rounds):
            for label, build in (("A", args.a), ("B", args.b)):
                sbs.log("-- round %d, %s (%s)" % (rnd + 1, label, build))
                res[label].append(one_round(build, label, top, args.seconds,
                                            args.warmup))
    finally:
        for p in list(sbs.PROCS):
            sbs.stop(p)
        shutil.rmtree(top, ignore_errors=True)
    print()
    print("| metric | A | B | B/A (medians) |")
    print("|---|---|---|---|")
    for op, clients in PHASES:
        for key, name, f in (("ops_per_s", "%ss/s, %d clients" % (op, clients), "%.0f"),
                             ("p50_ms", "%s p50 ms, %d clients" % (op, clients), "%.2f"),
                             ("p99_ms", "%s p99 ms, %d clients" % (op, clients), "%.2f"),
                             ("cpu_us_per_op", "server CPU µs per %s, %d clients" % (op, clients), "%.0f")):
            a = [r[(op, clients)][key] for r in res["A"] if key in r[(op, clients)]]
            b = [r[(op, clients)][key] for r in res["B"] if key in r[(op, clients)]]
            if not a or not b:
                continue
            print("| %s | %s | %s | %.2f |" % (name, fmt(a, f), fmt(b, f),
                                              sbs.med(b) / sbs.med(a) if sbs.med(a) else float("nan")))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
