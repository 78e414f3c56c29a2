# raftctl-expect.sh: shell helpers for tests that run the built raftctl
# without a cluster (tests/unit/test_raftctl_cli.sh, test_raftctl_help.sh).
# Sourced, not run.  The test sets RAFTCTL (the binary) and tmp (a
# directory of its own) first; the helpers count in checks and fails.
# shellcheck shell=sh disable=SC2154 # RAFTCTL and tmp: set by the test
checks=0
fails=0
unset RAFTCTL_SERVERS RAFTCTL_CONFIG

fail() {
	fails=$((fails + 1))
	echo "FAILED: $*" >&2
}

# expect STATUS STDERR-PATTERN -- ARGS...: runs raftctl, checks the exit
# status, that stderr matches (grep -E) and is at most one line.
expect() {
	want=$1 pat=$2
	shift 3
	checks=$((checks + 1))
	"$RAFTCTL" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	got=$?
	if [ "$got" != "$want" ]; then
		fail "raftctl $*: exit $got, want $want ($(cat "$tmp/err"))"
		return
	fi
	if [ -n "$pat" ] && ! grep -Eq -- "$pat" "$tmp/err"; then
		fail "raftctl $*: stderr '$(cat "$tmp/err")' lacks /$pat/"
	fi
	if [ "$(wc -l <"$tmp/err")" -gt 1 ]; then
		fail "raftctl $*: more than one line on stderr"
	fi
}
