#!/usr/bin/env python3
# test_transfer.py: leadership transfers (transferLeader to a random voter or to 0, in bursts; now and then a SIGTERM of the leader, which hands over first, and its restart) under concurrent clients; the history must be linearizable and lose no acknowledged write.
# A short run of nemesis.py (FAULT_SECONDS, default 20; SEED=n replays a run).
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nemesis  # noqa: E402

sys.exit(nemesis.test_main("transfer"))
