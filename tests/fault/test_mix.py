#!/usr/bin/env python3
# test_mix.py: overlapping faults (partitions and packet loss together with kills, pauses and torn restarts, at most a minority of the nodes down or paused at once) under concurrent clients; the history must be linearizable and lose no acknowledged write.
# A short run of nemesis.py (FAULT_SECONDS, default 30; SEED=n replays a run).
# Without root, ip or nft only the loopback faults overlap (kill, pause, torn).
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nemesis  # noqa: E402

sys.exit(nemesis.test_main("mix", default_seconds=30.0))
