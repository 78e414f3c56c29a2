#!/usr/bin/env python3
# soak.py: runs the fault nemeses against raftd for as long as asked, round after round, printing each round's figures.
#
#     tests/fault/soak.py --minutes N
#         --nemesis kill|pause|partition|loss|torn|transfer|member|all|mix
#         [--round-seconds S] [--seed N]
#
# --nemesis also takes a comma separated list, e.g. kill,pause,partition.
#
# Each round is one nemesis.py run (a fresh 5-node cluster, S seconds of
# faults, then heal, final reads and the checks) with seed SEED+round, so a
# failed round is replayed with `nemesis.py --nemesis K --seed N` (each
# round's line names K).  With a list each round draws its faults, one at a
# time, from those kinds; with mix they overlap; with all the rounds
# alternate between all (every kind, one at a time) and mix.  Exit status:
# 0 every round passed, 1 some failed, 77 every round was skipped.
import argparse
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nemesis  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description="fault soak for raftd")
    ap.add_argument("--minutes", type=float, required=True)
    ap.add_argument("--nemesis", required=True,
                    type=nemesis.parse_kinds_arg,
                    help="kill, pause, partition, loss, torn, transfer, "
                    "member, a comma "
                    "separated list of them, mix (overlapping faults), or "
                    "all (rounds alternate: one fault at a time, then mix)")
    ap.add_argument("--round-seconds", type=float, default=60.0,
                    help="seconds of faults per round (default 60)")
    ap.add_argument("--seed", type=int, default=None,
                    help="seed of round 1 (default: SEED or random)")
    ap.add_argument("--keep", default=os.environ.get("FAULT_KEEP"),
                    help="save the evidence of failed rounds here")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)
    import signal
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, nemesis.on_signal)
    seed = a.seed if a.seed is not None else nemesis.default_seed()
    t0 = time.monotonic()
    end = t0 + a.minutes * 60
    print("soak: nemesis %s for %.1f min, rounds of %.0f s, first seed %d" %
          (a.nemesis, a.minutes, a.round_seconds, seed), flush=True)
    rounds = []
    for r in range(1, 100000):
        left = end - time.monotonic()
        # A round needs ~15 s beyond its faults (start, heal, checks).
        if left < 25:
            break
        secs = min(a.round_seconds, left - 15)
        rseed = seed + r - 1
        # "all" rotates: every kind one at a time, then every kind
        # overlapping (mix).
        kind = a.nemesis
        if kind == "all":
            kind = ("all", nemesis.MIX)[(r - 1) % 2]
        t = time.monotonic()
        status, s = nemesis.run_one(kind, secs, rseed,
                                    verbose=a.verbose, keep=a.keep)
        took = time.monotonic() - t
        rounds.append((r, rseed, status, s, kind))
        if status == 77:
            print("soak: round %d skipped" % r, flush=True)
            break
        print("soak: round %d %s seed %d: %s in %.0f s: ops %s, unknown %s, "
              "linearizable %s, lost %s, faults %s" % (
                  r, kind, rseed, {0: "passed", 1: "FAILED",
                                   99: "HARNESS ERROR"}
                  .get(status, status), took, s.get("ops"), s.get("unknown"),
                  s.get("linearizable"), s.get("lost"), s.get("faults")),
              flush=True)
    done = [x for x in rounds if x[2] != 77]
    bad = [x for x in done if x[2] != 0]
    tot = lambda k: sum(x[3].get(k) or 0 for x in done)  # noqa: E731
    print("soak: %d rounds in %.1f min: %d passed, %d failed; ops %d, "
          "unknown %d, lost %d%s" % (
              len(done), (time.monotonic() - t0) / 60, len(done) - len(bad),
              len(bad), tot("ops"), tot("unknown"), tot("lost"),
              "; failed: %s" % ", ".join("--nemesis %s --seed %d" % (
                  x[4], x[1]) for x in bad) if bad else ""),
          flush=True)
    if not done:
        return 77
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
