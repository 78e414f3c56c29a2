#!/bin/sh
# test_plots.sh: bench/plots.py against the bench results committed in
# docs/img/data: the four SVGs are drawn, are well-formed XML, and carry
# what the CSV says (kill counts and medians in the legends, computed here
# independently); broken input (a missing column, a non-number, no data)
# is refused with exit 1 and a message.  Skips without gnuplot.
srcdir=${top_srcdir:-.}
PLOTS=$srcdir/bench/plots.py
DATA=$srcdir/docs/img/data
command -v python3 >/dev/null || { echo "test_plots: SKIP: no python3"; exit 77; }
command -v gnuplot >/dev/null || { echo "test_plots: SKIP: no gnuplot (gnuplot-nox)"; exit 77; }
[ -f "$DATA/sidebyside-loads.csv" ] || { echo "test_plots: no $DATA"; exit 99; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_plots.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
checks=0
fails=0

fail() {
	fails=$((fails + 1))
	echo "FAILED: $*" >&2
}

# has FILE TEXT: FILE contains TEXT (fixed string).
has() {
	checks=$((checks + 1))
	grep -qF -- "$2" "$1" || fail "$1 lacks '$2'"
}

# median_of CSV SYSTEM COLUMN: the median, rounded to ms, of COLUMN over
# the rows of SYSTEM ("" for every row), by sort and awk.
median_of() {
	grep -v '^#' "$1" | awk -F, -v sys="$2" -v col="$3" '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
		sys == "" || $1 == sys { print $c }' | sort -g | awk '
		{ v[NR] = $1 }
		END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      printf "%.0f\n", m }'
}

checks=$((checks + 1))
if ! python3 "$PLOTS" "$DATA" "$tmp/out" >"$tmp/log" 2>&1; then
	fail "plots.py on $DATA: $(cat "$tmp/log")"
fi
for f in throughput latency failover failover-raftd; do
	checks=$((checks + 1))
	if [ ! -s "$tmp/out/$f.svg" ]; then
		fail "no $f.svg"
		continue
	fi
	checks=$((checks + 1))
	python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' \
		"$tmp/out/$f.svg" 2>"$tmp/err" || fail "$f.svg is not XML: $(cat "$tmp/err")"
done
if [ -s "$tmp/out/throughput.svg" ]; then
	has "$tmp/out/throughput.svg" "raftd (median, min-max)"
	has "$tmp/out/throughput.svg" "etcd (median, min-max)"
	has "$tmp/out/throughput.svg" "committed puts per second"
	has "$tmp/out/latency.svg" "p99.9"
	has "$tmp/out/latency.svg" "put latency (ms, log scale)"
fi
fo=$DATA/sidebyside-failover.csv
for s in raftd etcd; do
	n=$(grep -c "^$s," "$fo")
	has "$tmp/out/failover.svg" "$s: $n kills, median $(median_of "$fo" "$s" ms) ms"
done
fo=$DATA/failover.csv
has "$tmp/out/failover-raftd.svg" "$(grep -vc '^#' "$fo" | awk '{ print $1 - 1 }') kills"
has "$tmp/out/failover-raftd.svg" "median $(median_of "$fo" "" leader_ms) ms"
has "$tmp/out/failover-raftd.svg" "median $(median_of "$fo" "" write_ms) ms"

# expect_refused DIR PATTERN: plots.py exits 1 with PATTERN on stderr.
expect_refused() {
	checks=$((checks + 1))
	python3 "$PLOTS" "$1" "$tmp/bad-out" >/dev/null 2>"$tmp/err"
	st=$?
	if [ "$st" != 1 ] || ! grep -qF -- "$2" "$tmp/err"; then
		fail "plots.py $1: exit $st, stderr '$(cat "$tmp/err")', want 1 and '$2'"
	fi
}
mkdir "$tmp/nocol" "$tmp/nan" "$tmp/empty"
sed 's/ops_per_s/ops_per_sec/' "$DATA/sidebyside-loads.csv" >"$tmp/nocol/sidebyside-loads.csv"
expect_refused "$tmp/nocol" "missing column(s) ops_per_s"
awk -F, -v OFS=, '/^raftd,/ && !done { $9 = "fast"; done = 1 } { print }' \
	"$DATA/sidebyside-loads.csv" >"$tmp/nan/sidebyside-loads.csv"
expect_refused "$tmp/nan" "ops_per_s='fast' is not a number"
expect_refused "$tmp/empty" "no bench data"

echo "test_plots: $checks checks, $fails failed"
[ "$fails" = 0 ]
