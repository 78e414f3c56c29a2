"""__main__.py: raftdtest's helpers for shell scripts.

    PYTHONPATH=tests/lib python3 -m raftdtest write-config --nodes 5 --dir DIR
"""
import sys

from raftdtest import config

COMMANDS = {"write-config": config.main}

if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
    print("usage: python3 -m raftdtest %s [--help | ARGS]" %
          "|".join(sorted(COMMANDS)), file=sys.stderr)
    sys.exit(2)
sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]))
