#!/bin/sh
# test_raftctl.sh: every raftctl command against a live 3-node raftd
# cluster on loopback (test_raftctl_live.py, on tests/lib/raftdtest).
srcdir=${top_srcdir:-$(dirname "$0")/../..}
builddir=${top_builddir:-.}
PY=${PYTHON3:-python3}
command -v "$PY" >/dev/null 2>&1 || { echo "test_raftctl: SKIP: no python3"; exit 77; }
top_builddir=$builddir
export top_builddir
exec "$PY" "$srcdir/tests/cluster/test_raftctl_live.py"
