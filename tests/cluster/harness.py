# harness.py: the cluster harness's old name, kept for tests written against it; new tests import raftdtest (tests/lib) directly.
import os
import sys
import xmlrpc.client  # noqa: F401 - old tests reach it as harness.xmlrpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
from raftdtest import *  # noqa: E402,F401,F403
from raftdtest.raftlog import REC_COMMIT, REC_ENTRY, crc32c  # noqa: E402,F401
from raftdtest.raftlog import entry_record as raftlog_entry_record  # noqa
from raftdtest.raftlog import records as raftlog_records  # noqa: E402,F401
