#!/bin/sh
# libfuzzer.sh: builds the peer fuzz target with clang's libFuzzer, ASan
# and UBSan, and runs it over the seed corpus (what `make fuzz` does).
#
#   sh tests/fuzz/libfuzzer.sh SRCDIR OUTDIR
#
# Environment: CC (clang), NETTLE_CFLAGS, NETTLE_LIBS (from configure),
# FUZZ_SECONDS (300), FUZZ_JOBS (1: parallel jobs, each for FUZZ_SECONDS),
# FUZZ_ARGS (more libFuzzer options).  New inputs go to OUTDIR/corpus-work,
# never into the committed corpus; crashes to OUTDIR/crash-*.  Exits 0
# with a message if clang or libFuzzer is missing (Debian: clang and
# libclang-rt-14-dev), non-zero if the fuzzer found a crash.
set -e
src=${1:?usage: libfuzzer.sh SRCDIR OUTDIR}
out=${2:?usage: libfuzzer.sh SRCDIR OUTDIR}
CC=${CC:-clang}
FUZZ_SECONDS=${FUZZ_SECONDS:-300}
FUZZ_JOBS=${FUZZ_JOBS:-1}
bin=$out/fuzz_peer_libfuzzer
mkdir -p "$out/corpus-work"

if ! command -v "$CC" >/dev/null 2>&1; then
	echo "make fuzz: skipped: $CC not found (Debian: clang libclang-rt-14-dev)"
	exit 0
fi
probe=$out/libfuzzer-probe.c
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
	'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
	'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)' \
	'{ (void)d; (void)n; return 0; }' >"$probe"
if ! "$CC" -fsanitize=fuzzer,address,undefined "$probe" \
	-o "$out/libfuzzer-probe" >/dev/null 2>&1; then
	rm -f "$probe" "$out/libfuzzer-probe"
	echo "make fuzz: skipped: $CC cannot link -fsanitize=fuzzer" \
		"(Debian: libclang-rt-14-dev)"
	exit 0
fi
rm -f "$probe" "$out/libfuzzer-probe"

echo "make fuzz: building $bin with $CC (libFuzzer, ASan, UBSan)"
# shellcheck disable=SC2086
"$CC" -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer \
	-D_GNU_SOURCE -I"$src" -I"$src/daemon" -I"$src/common" $NETTLE_CFLAGS \
	"$src/tests/fuzz/fuzz_peer.c" "$src/daemon/wire.c" \
	"$src/daemon/peerauth.c" "$src/daemon/core/raft.c" \
	-o "$bin" $NETTLE_LIBS -pthread

echo "make fuzz: running for $FUZZ_SECONDS s ($FUZZ_JOBS job(s)) over" \
	"$src/tests/fuzz/corpus"
# Absolute paths: the jobs run in $out, where libFuzzer writes their logs
# (fuzz-N.log).
src=$(cd "$src" && pwd)
out=$(cd "$out" && pwd)
bin=$out/fuzz_peer_libfuzzer
rm -f "$out"/fuzz-[0-9]*.log
jobs=
if [ "$FUZZ_JOBS" -gt 1 ]; then
	jobs="-jobs=$FUZZ_JOBS -workers=$FUZZ_JOBS"
fi
rv=0
# shellcheck disable=SC2086
(cd "$out" && "$bin" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
	-artifact_prefix="$out/crash-" -max_len=4096 $jobs $FUZZ_ARGS \
	"$out/corpus-work" "$src/tests/fuzz/corpus") || rv=$?
for log in "$out"/fuzz-[0-9]*.log; do
	[ -f "$log" ] || continue
	echo "--- $log"
	grep -E '^(Done|stat::|==[0-9]+==ERROR|SUMMARY)' "$log" || tail -n 20 "$log"
done
n_work=$(find "$out/corpus-work" -type f 2>/dev/null | wc -l)
n_crash=$(find "$out" -maxdepth 1 -name 'crash-*' 2>/dev/null | wc -l)
echo "make fuzz: corpus-work holds $n_work inputs; crash files: $n_crash"
exit $rv
