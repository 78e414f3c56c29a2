#!/bin/sh
# test_raftctl_help.sh: the built raftctl without a cluster: every
# command's own help (COMMAND --help, help COMMAND), one-line option
# errors without the program's path, "did you mean" for a mistyped
# command, and the bash (and, with zsh, the zsh) completion scripts.
builddir=${top_builddir:-.}
srcdir=${top_srcdir:-$(dirname "$0")/../..}
RAFTCTL=$builddir/raftctl
[ -x "$RAFTCTL" ] || { echo "test_raftctl_help: $RAFTCTL not built"; exit 99; }
command -v bash >/dev/null 2>&1 || { echo "test_raftctl_help: SKIP: no bash"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_raftctl_help.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
# shellcheck source=tests/lib/raftctl-expect.sh
. "$srcdir/tests/lib/raftctl-expect.sh"

COMMANDS="leader status health get put del cas list add entries log cal
snapshot backup restore member transfer check shell help"

# Every command's help: the same text both ways, its usage line first,
# nothing on stderr, exit 0, and no node needed.
for c in $COMMANDS; do
	expect 0 '' -- "$c" --help
	checks=$((checks + 1))
	head -n 1 "$tmp/out" | grep -q "^Usage: raftctl \[GLOBAL OPTIONS\] $c" ||
		fail "$c --help: $(head -n 1 "$tmp/out")"
	[ -s "$tmp/err" ] && fail "$c --help wrote on stderr"
	cp "$tmp/out" "$tmp/help1"
	expect 0 '' -- help "$c"
	checks=$((checks + 1))
	cmp -s "$tmp/out" "$tmp/help1" || fail "help $c differs from $c --help"
	checks=$((checks + 1))
	[ "$(wc -l <"$tmp/out")" -ge 4 ] || fail "$c --help: too short"
done
expect 0 '' -- delete --help
grep -q '^Usage: raftctl \[GLOBAL OPTIONS\] del ' "$tmp/out" || fail "delete --help"
# --help after other arguments still shows help and runs nothing; after
# "--" it is an argument.
expect 0 '' -- put k v --help
grep -q '^Usage: raftctl \[GLOBAL OPTIONS\] put ' "$tmp/out" || fail "put k v --help"
expect 2 'no nodes' -- put k -- --help
expect 2 "^raftctl: unknown command 'nosuch' \(see raftctl --help\)$" -- help nosuch
expect 2 'usage: raftctl help' -- help put get

# getopt's complaints: ours, one line, no path.
expect 2 '^raftctl: unknown option --foo \(see raftctl --help\)$' -- --foo status
expect 2 '^raftctl: unknown option -x \(see raftctl --help\)$' -- -x status
expect 2 '^raftctl: a value is missing after option -c \(see raftctl --help\)$' -- -c
expect 2 '^raftctl: a value is missing after option --servers \(see raftctl --help\)$' -- --servers
expect 2 '^raftctl: no value is allowed after option --json \(see raftctl --help\)$' -- --json=1 status
# A command's own unknown option points at that command's help.
expect 2 '^raftctl: put: unknown option --bogus \(see raftctl put --help\)$' -- -s 127.0.0.1:1 put --bogus k v
expect 2 '^raftctl: member: unknown option --x \(see raftctl member --help\)$' -- -s 127.0.0.1:1 member list --x
checks=$((checks + 1))
"$RAFTCTL" --foo 2>&1 | grep -qF "/raftctl" && fail "the error names the path"

# Typos.
expect 2 "^raftctl: unknown command 'stauts'; did you mean 'status'\?$" -- stauts
expect 2 "did you mean 'list'\?$" -- lsit
expect 2 "did you mean 'leader'\?$" -- leadr
expect 2 "did you mean 'member'\?$" -- membr list
expect 2 "^raftctl: unknown command 'xyzzy' \(see raftctl --help\)$" -- xyzzy
expect 2 "did you mean 'status'\?$" -- help stats

# The bash completion script: complete WORDS... prints COMPREPLY sorted.
complete_words() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1));
		_raftctl; printf "%s\n" "${COMPREPLY[@]}" | sort' \
		bash "$srcdir/completion/bash/raftctl" "$@" 2>"$tmp/cerr"
}
# ccheck WANT WORDS...: the completions, space separated, are WANT.
ccheck() {
	want=$1
	shift
	checks=$((checks + 1))
	got=$(complete_words "$@" | tr '\n' ' ' | sed 's/ $//')
	[ "$got" = "$want" ] || fail "completion of '$*': '$got', want '$want'"
	[ -s "$tmp/cerr" ] && fail "completion of '$*' wrote: $(cat "$tmp/cerr")"
}
ccheck "status" raftctl stat
ccheck "check" raftctl -c x.conf che
ccheck "member" raftctl -s 127.0.0.1:1 -t 2 mem
ccheck "--servers" raftctl --ser
ccheck "--help --tid" raftctl put --
ccheck "--quorum" raftctl health --q
ccheck "add del list" raftctl cal ""
ccheck "add list remove" raftctl member ""
ccheck "snapshot" raftctl help sn
ccheck "" raftctl put somekey ""
# Every command the script offers is one raftctl knows.
for c in $(complete_words raftctl ""); do
	checks=$((checks + 1))
	"$RAFTCTL" help "$c" >/dev/null 2>&1 || fail "completion offers '$c'"
done
checks=$((checks + 1))
[ "$(complete_words raftctl "" | wc -l)" -ge 20 ] || fail "too few commands completed"
# A key with no cluster to ask: nothing, quietly, quickly.
checks=$((checks + 1))
got=$(RAFTCTL_SERVERS="" complete_words raftctl get us)
[ -z "$got" ] || fail "key completion without nodes: '$got'"

# The zsh script at least parses.
if command -v zsh >/dev/null 2>&1; then
	checks=$((checks + 1))
	zsh -n "$srcdir/completion/zsh/_raftctl" || fail "zsh -n _raftctl"
else
	echo "test_raftctl_help: no zsh: its script not checked"
fi

if [ "$fails" -gt 0 ]; then
	echo "test_raftctl_help: $fails of $checks checks failed"
	exit 1
fi
echo "test_raftctl_help: $checks checks passed"
