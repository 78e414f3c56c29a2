#!/bin/sh
# test_raftctl_cli.sh: the built raftctl without a cluster: --help and
# --version, usage errors (exit 2, one line on stderr), node sources,
# validation before any network traffic, exit 3 when nothing answers, the
# shell's own commands, and check's exit codes.
builddir=${top_builddir:-.}
srcdir=${top_srcdir:-$(dirname "$0")/../..}
RAFTCTL=$builddir/raftctl
[ -x "$RAFTCTL" ] || { echo "test_raftctl_cli: $RAFTCTL not built"; exit 99; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_raftctl_cli.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
# shellcheck source=tests/lib/raftctl-expect.sh
. "$srcdir/tests/lib/raftctl-expect.sh"

# A port nobody listens on: bind one, then let it go.
free_port() {
	${PYTHON3:-python3} -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 1
}
DEAD=127.0.0.1:$(free_port)

expect 0 '' -- --help
for c in leader status get put del cas list add entries log "cal add" \
	"cal list" "cal del" check shell help; do
	checks=$((checks + 1))
	grep -q "^  $c" "$tmp/out" || fail "--help lacks '$c'"
done
checks=$((checks + 1))
[ "$(grep -c 'raftctl ' "$tmp/out")" -ge 15 ] || fail "--help: too few examples"
expect 0 '' -- help
expect 0 '' -- --version
checks=$((checks + 1))
grep -Eq '^raftctl .* [0-9]+\.[0-9]+' "$tmp/out" || fail "--version: $(cat "$tmp/out")"

# Usage errors.
expect 2 'no nodes: use -c' -- status
expect 2 'no nodes' -- get k
expect 2 'exclude each other' -- -c x.conf -s 127.0.0.1:1 status
expect 2 'unknown command' -- -s "$DEAD" frobnicate
expect 2 'want seconds' -- -t 0 status
expect 2 'want seconds' -- -t abc status
expect 2 'usage: raftctl get KEY' -- -s "$DEAD" get
expect 2 'usage: raftctl put' -- -s "$DEAD" put k
expect 2 'usage: raftctl cas' -- -s "$DEAD" cas k v
expect 2 'usage: raftctl add' -- -s "$DEAD" add "" data
expect 2 '--tid needs a value' -- -s "$DEAD" put k v --tid
expect 2 'unknown option --bogus' -- -s "$DEAD" put --bogus k v
expect 2 'bad address' -- -s 127.0.0.1 status
expect 2 'empty item' -- -s 127.0.0.1:1, status
expect 2 'RAFTCTL_SERVERS' -- status
expect 2 'FROM must be' -- -s "$DEAD" log 0
expect 2 'FROM must be' -- -s "$DEAD" entries x
expect 2 'bad date' -- cal add 2026-02-29 10:00 Title
expect 2 'bad time' -- cal add 2024-02-29 25:00 Title
expect 2 'title must be' -- cal add 2024-02-29 10:00 ""
expect 2 'usage: raftctl cal add' -- cal add 2024-02-29 10:00
expect 2 'bad date' -- cal list 2026-2
expect 2 'bad event id' -- cal del 'a/b'
expect 2 'usage: raftctl cal' -- cal frob
expect 2 'shell takes no arguments' -- shell x
RAFTCTL_SERVERS=127.0.0.1 expect 2 'RAFTCTL_SERVERS' -- status
expect 2 'raftd.conf' -- -c "$tmp/raftd.conf" status
printf 'cluster = { nodes = ( { id = 1; address = "%s"; } ); };\nbogus = 1;\n' \
	"$DEAD" >"$tmp/bad.conf"
expect 2 'bad.conf:2' -- -c "$tmp/bad.conf" status

# Nothing answers: exit 3, within the deadline.
printf 'cluster = { nodes = ( { id = 1; address = "%s"; } ); };\n' \
	"$DEAD" >"$tmp/dead.conf"
expect 3 'cluster unavailable within 0.5 s' -- -s "$DEAD" -t 0.5 get k
expect 3 'cluster unavailable' -- -c "$tmp/dead.conf" -t 0.5 put k v
RAFTCTL_SERVERS=$DEAD expect 3 'cluster unavailable' -- -t 0.3 leader
RAFTCTL_CONFIG=$tmp/dead.conf expect 3 'no node answered' -- -t 0.3 status
checks=$((checks + 1))
grep -q 'down' "$tmp/out" || fail "status: the node is not shown down"
start=$(date +%s)
expect 3 '' -- -s "$DEAD" -t 1 cal add 2026-02-03 09:30 Standup
[ $(( $(date +%s) - start )) -le 3 ] || fail "-t 1 took more than 3 s"

# The shell without a cluster: help, errors that go on, exit status.
checks=$((checks + 1))
printf 'help\n\n# comment\nget\nexit 7\nhelp\n' | "$RAFTCTL" >"$tmp/out" 2>"$tmp/err"
[ $? = 7 ] || fail "shell: exit 7 not honoured"
grep -q 'usage: raftctl get KEY' "$tmp/err" || fail "shell: get error"
[ "$(grep -c '^Usage:' "$tmp/out")" = 1 ] || fail "shell: help ran once"
checks=$((checks + 1))
printf 'cal add 2026-13-01 10:00 x\n' | "$RAFTCTL" shell >/dev/null 2>&1
[ $? = 2 ] || fail "shell: the last status is the exit status"
checks=$((checks + 1))
printf 'shell\n' | "$RAFTCTL" >/dev/null 2>"$tmp/err"
grep -q 'already in the shell' "$tmp/err" || fail "shell in shell"

# check: usage and unreadable input (the rest is test_raftctl_check).
expect 2 'usage: raftctl check' -- check
expect 2 'No such file' -- check "$tmp/nonexistent"
mkdir "$tmp/empty"
expect 2 'no raftlog files' -- check "$tmp/empty"
mkdir -p "$tmp/logs/n1"
echo "not a raft log at all, but long enough for a header" >"$tmp/logs/n1/raftlog"
expect 2 'bad magic' -- check "$tmp/logs"

if [ "$fails" -gt 0 ]; then
	echo "test_raftctl_cli: $fails of $checks checks failed"
	exit 1
fi
echo "test_raftctl_cli: $checks checks passed"
