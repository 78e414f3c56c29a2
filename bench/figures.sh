#!/bin/sh
# figures.sh: the bench runs behind the plots in docs/PERFORMANCE.md, then
# the plots (a measurement, not a test).
#
#   bench/figures.sh [-b BUILD] [-d DATA_DIR] [-o OUT_DIR] [-r ROUNDS]
#                    [-s SECONDS] [-c CLIENTS] [-k KILLS] [-t TRIALS]
#                    [-l LOAD] [-m MINUTES] [-n]
#
# 1. bench/sidebyside.py: raftd and etcd interleaved, -r rounds (5) of put
#    phases at each client count of -c (1,4,16,32,64) and a get phase,
#    -s seconds (5) each after 1 s of warm-up, then -k leader kills (21)
#    per system; raw results into DATA_DIR (default docs/img/data), its
#    printed table to DATA_DIR/sidebyside.txt.
# 2. bench/failover.py: -t leader kills (60) of a raftd cluster alone, into
#    DATA_DIR/failover.csv and DATA_DIR/failover.txt.
# 3. bench/plots.py DATA_DIR OUT_DIR (default docs/img).
# -l LOAD waits, checking once a minute for at most -m minutes (30), until
# the 1-minute load average is below LOAD before starting; then runs anyway
# (the load is in the data files' headers).  -n only redraws the plots from
# DATA_DIR.  BUILD holds raftd and bench/raftbench (default: this tree).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
build=$top
data=$top/docs/img/data
out=$top/docs/img
rounds=5
seconds=5
clients=1,4,16,32,64
kills=21
trials=60
load=""
minutes=30
plot_only=0
usage() {
	sed -n '5,7p' "$0" | sed 's/^# *//' >&2
	exit 2
}
# logged FILE CMD...: runs CMD, its output to the terminal and to FILE;
# stops the script when CMD fails.
logged() {
	f=$1
	shift
	{
		if "$@" 2>&1; then st=0; else st=$?; fi
		echo "$st" >"$f.status"
	} | tee "$f"
	st=$(cat "$f.status")
	rm -f "$f.status"
	if [ "$st" != 0 ]; then
		echo "figures.sh: $* failed (exit $st)" >&2
		exit 1
	fi
}
while getopts b:d:o:r:s:c:k:t:l:m:n opt; do
	case $opt in
	b) build=$OPTARG ;;
	d) data=$OPTARG ;;
	o) out=$OPTARG ;;
	r) rounds=$OPTARG ;;
	s) seconds=$OPTARG ;;
	c) clients=$OPTARG ;;
	k) kills=$OPTARG ;;
	t) trials=$OPTARG ;;
	l) load=$OPTARG ;;
	m) minutes=$OPTARG ;;
	n) plot_only=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
case $minutes in '' | *[!0-9]*) usage ;; esac

# rel DIR: DIR, relative to the top of the tree when it is inside it (the
# data files record the command line; no machine's paths in them).
rel() {
	d=$(cd "$1" && pwd) || exit 1
	case $d in
	"$top") echo . ;;
	"$top"/*) echo "${d#"$top"/}" ;;
	*) echo "$d" ;;
	esac
}
mkdir -p "$data" "$out"
build=$(rel "$build")
data=$(rel "$data")
out=$(rel "$out")
cd "$top"

if [ "$plot_only" = 0 ]; then
	for f in "$build/raftd" "$build/bench/raftbench"; do
		[ -x "$f" ] || {
			echo "figures.sh: $f not built (make)" >&2
			exit 1
		}
	done
	if [ -n "$load" ]; then
		i=0
		while :; do
			now=$(cut -d' ' -f1 /proc/loadavg)
			if awk -v a="$now" -v b="$load" 'BEGIN { exit !(a < b) }'; then
				echo "== load average $now, below $load: starting"
				break
			fi
			if [ "$i" -ge "$minutes" ]; then
				echo "== load average still $now after $minutes min: starting anyway"
				break
			fi
			echo "== load average $now, waiting for it to fall below $load"
			sleep 60
			i=$((i + 1))
		done
	fi
	logged "$data/sidebyside.txt" python3 "$here/sidebyside.py" \
		--raftd-build "$build" --rounds "$rounds" --seconds "$seconds" \
		--warmup 1 --put-clients "$clients" --failover-trials "$kills" \
		--data "$data"
	logged "$data/failover.txt" python3 "$here/failover.py" \
		--raftd "$build/raftd" --trials "$trials" --data "$data"
fi
python3 "$here/plots.py" "$data" "$out"
