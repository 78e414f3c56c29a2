#!/bin/sh
# test_raftctl_fake.sh: raftctl against a scripted fake cluster (Python
# XML-RPC servers on loopback): hints, retries with the same tid, the
# deadline, hung nodes, paging, the calendar and the shell.  No raftd needed.
srcdir=${top_srcdir:-$(dirname "$0")/../..}
builddir=${top_builddir:-.}
PY=${PYTHON3:-python3}
command -v "$PY" >/dev/null 2>&1 || { echo "test_raftctl_fake: SKIP: no python3"; exit 77; }
[ -x "$builddir/raftctl" ] || { echo "test_raftctl_fake: $builddir/raftctl not built"; exit 99; }
exec "$PY" "$srcdir/tests/cluster/raftctl_fake_cluster.py" "$builddir/raftctl"
