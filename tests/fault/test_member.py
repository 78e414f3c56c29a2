#!/usr/bin/env python3
# test_member.py: membership changes under concurrent clients: a random node (sometimes the leader) removed, stopped, wiped, started empty and added back until it is a voter again; the history must be linearizable and lose no acknowledged write.
# A short run of nemesis.py (FAULT_SECONDS, default 20; SEED=n replays a run).
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nemesis  # noqa: E402

sys.exit(nemesis.test_main("member"))
