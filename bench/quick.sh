#!/bin/sh
# quick.sh: first figures for raftd on this machine (a measurement, not a
# test): a single client's put latency, puts/s with 16 concurrent clients
# on 5 nodes, and failover time over 20 leader kills.
#   bench/quick.sh [BUILD_DIR]     (BUILD_DIR holds raftd and bench/raftbench)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top}
dir=$(mktemp -d "${TMPDIR:-/tmp}/raftd-quick.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# Five nodes on free loopback ports, a random secret: the config writer
# the tests use (tests/lib/raftdtest/config.py) prints their addresses.
addrs=$(PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$top/tests/lib" \
	python3 -m raftdtest write-config --nodes 5 --dir "$dir" --out "$dir/c.conf")
servers=""
i=1
for a in $addrs; do
	"$build/raftd" -c "$dir/c.conf" -i "$i" 2>"$dir/node-$i.log" &
	pids="$pids $!"
	servers="$servers${servers:+,}$a"
	i=$((i + 1))
done
echo "== machine: $(nproc) cores, $(uname -sr); 5 nodes on loopback, fsync on, 100-byte values"
echo "== 1 client, put"
"$build/bench/raftbench" -s "$servers" -c 1 -d 10 -w 2 2>/dev/null
echo "== 16 clients, put"
"$build/bench/raftbench" -s "$servers" -c 16 -d 10 -w 2 2>/dev/null
echo "== 16 clients, linearizable get"
"$build/bench/raftbench" -s "$servers" -c 16 -d 10 -w 2 -o get 2>/dev/null
cleanup
pids=""
trap - EXIT INT TERM
echo "== failover, 20 leader kills, 150-300 ms election timeouts"
python3 "$top/bench/failover.py" --raftd "$build/raftd" --trials 20 | tail -1
