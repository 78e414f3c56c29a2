#!/bin/sh
# test_manpages.sh: the manual pages against what they document.
#  - mandoc -T lint -W warning finds nothing in any page;
#  - no @...@ is left unsubstituted;
#  - every option in `raftd --help` is in raftd.8, every option and command
#    in `raftctl --help` in raftctl.1, every option and task in
#    `raftd-testbed --help` in raftd-testbed.1, every config key that
#    common/config.c accepts in raftd.conf.5 (as a .Cm);
#  - every docs/*.md is installed (in raftddocs_DATA);
#  - raftd-testbed --help, -h and help print the usage with the installed
#    hosts file's place, and without a hosts file it points at its man page.
# Each list is counted; an empty one fails (a help text whose shape changed
# must not pass unchecked).  The missing items are printed.
LC_ALL=C
export LC_ALL
srcdir=${top_srcdir:-.}
builddir=${top_builddir:-.}
if ! command -v mandoc >/dev/null 2>&1; then
	echo "test_manpages: mandoc is not installed (scripts/deps.sh installs it): skipped"
	exit 77
fi
for b in raftd raftctl raftd-testbed; do
	[ -x "$builddir/$b" ] || {
		echo "test_manpages: $builddir/$b not built"
		exit 99
	}
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_manpages.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
checks=0

fail() {
	fails=$((fails + 1))
	echo "FAILED: $*" >&2
}

pages="man/raftd.8 man/raftctl.1 man/raftd.conf.5 man/raftd-testbed.1"
bs=$(printf '\b')
for p in $pages; do
	f=$builddir/$p
	[ -f "$f" ] || {
		echo "test_manpages: $f not built"
		exit 99
	}
	checks=$((checks + 1))
	mandoc -T lint -W warning "$f" >"$tmp/lint" 2>&1
	rc=$?
	if [ $rc -ne 0 ] || [ -s "$tmp/lint" ]; then
		fail "mandoc -T lint -W warning $p: exit $rc"
		cat "$tmp/lint" >&2
	fi
	checks=$((checks + 1))
	if grep -n '@[A-Za-z_]*@' "$f" >"$tmp/subst"; then
		fail "$p: not substituted:"
		cat "$tmp/subst" >&2
	fi
	# The page as a reader sees it, on one line: overstrikes removed,
	# as wide as mandoc goes, and a word broken after a hyphen joined.
	name=$(basename "$p")
	mandoc -T ascii -O width=1000 "$f" 2>"$tmp/render.err" |
		sed "s/.$bs//g" | tr -s ' \t\n' '   ' |
		sed 's/\([A-Za-z]\)- \([A-Za-z]\)/\1-\2/g' >"$tmp/$name.txt"
	[ -s "$tmp/$name.txt" ] || fail "$p: renders empty: $(cat "$tmp/render.err")"
done

# has PAGE WORD: WORD stands alone (not inside a longer option or name) in
# the rendered PAGE.
has() {
	grep -qE -- "(^|[^A-Za-z0-9_-])$2([^A-Za-z0-9_-]|\$)" "$tmp/$1.txt"
}

# options < HELP: every -x and --long-name that starts a word (after a
# blank, '[', '(' or '|'), one per line.
options() {
	grep -oE '(^|[][:space:]([|])--?[A-Za-z][A-Za-z0-9-]*' |
		sed 's/^[^-]*//' | sort -u
}

# commands SECTION-HEADING < HELP: the command names of the lines indented
# by exactly two spaces after the heading, up to the next blank line; a
# second word in lower case one blank after the first is a subcommand ("cal
# add"; a description is two or more blanks away).
commands() {
	awk -v head="$1" '
		index($0, head) == 1 { on = 1; next }
		on && /^[[:space:]]*$/ { on = 0 }
		on && match($0, /^  [a-z_]+( [a-z]+)?( |$)/) {
			w = substr($0, 3, RLENGTH - 2)
			sub(/ $/, "", w)
			print w
		}' | sort -u
}

# check PAGE WHAT LIST-FILE: every line of LIST-FILE is in PAGE.
check() {
	page=$1 what=$2 list=$3
	n=$(wc -l <"$list")
	checks=$((checks + 1))
	if [ "$n" -eq 0 ]; then
		fail "$page: no $what found to check (has the help text changed shape?)"
		return
	fi
	missing=""
	while IFS= read -r item; do
		has "$page" "$item" || missing="$missing '$item'"
	done <"$list"
	if [ -n "$missing" ]; then
		fail "$page: $what not documented:$missing"
	else
		echo "ok: $page documents all $n $what"
	fi
}

# ---- raftd ----------------------------------------------------------------
"$builddir/raftd" --help >"$tmp/raftd.help" 2>&1 || fail "raftd --help: exit $?"
options <"$tmp/raftd.help" >"$tmp/raftd.opts"
check raftd.8 "raftd options" "$tmp/raftd.opts"

# ---- raftctl --------------------------------------------------------------
"$builddir/raftctl" --help >"$tmp/raftctl.help" 2>&1 || fail "raftctl --help: exit $?"
options <"$tmp/raftctl.help" >"$tmp/raftctl.opts"
check raftctl.1 "raftctl options" "$tmp/raftctl.opts"
commands "Commands:" <"$tmp/raftctl.help" >"$tmp/raftctl.cmds"
check raftctl.1 "raftctl commands" "$tmp/raftctl.cmds"

# ---- raftd-testbed --------------------------------------------------------
tb=$builddir/raftd-testbed
"$tb" --help >"$tmp/tb.help" 2>"$tmp/tb.err" || fail "raftd-testbed --help: exit $?"
options <"$tmp/tb.help" >"$tmp/tb.opts"
check raftd-testbed.1 "raftd-testbed options" "$tmp/tb.opts"
commands "Tasks" <"$tmp/tb.help" >"$tmp/tb.tasks"
check raftd-testbed.1 "raftd-testbed tasks" "$tmp/tb.tasks"
for how in -h help; do
	checks=$((checks + 1))
	"$tb" $how >"$tmp/tb.out" 2>&1 || fail "raftd-testbed $how: exit $?"
	cmp -s "$tmp/tb.out" "$tmp/tb.help" ||
		fail "raftd-testbed $how: not the --help text"
done
checks=$((checks + 1))
grep -q '^Usage: raftd-testbed ' "$tmp/tb.help" ||
	fail "raftd-testbed --help: no 'Usage: raftd-testbed' line"
# The installed copy looks in $(sysconfdir)/raftd after ./etc and ./.
sysconf_hosts=$(sed -n 's/^sysconf_hosts_file="\(.*\)"$/\1/p' "$tb")
checks=$((checks + 1))
case $sysconf_hosts in
/*/raftd/testbed.conf)
	grep -qF "$sysconf_hosts" "$tmp/tb.help" ||
		fail "raftd-testbed --help does not name $sysconf_hosts"
	;;
*) fail "raftd-testbed: sysconf_hosts_file not set by the build: '$sysconf_hosts'" ;;
esac
# Without a hosts file: exit 2, naming the places and the man page (only
# when no system-wide hosts file exists on this machine).
if [ -n "$sysconf_hosts" ] && [ ! -e "$sysconf_hosts" ]; then
	checks=$((checks + 1))
	mkdir "$tmp/empty"
	tb_abs=$(cd "$(dirname "$tb")" && pwd)/$(basename "$tb")
	(cd "$tmp/empty" && "$tb_abs" hosts) >"$tmp/tb.out" 2>&1
	rc=$?
	if [ $rc -ne 2 ] ||
		! grep -q 'no hosts file' "$tmp/tb.out" ||
		! grep -q 'man raftd-testbed' "$tmp/tb.out" ||
		! grep -qF "$sysconf_hosts" "$tmp/tb.out"; then
		fail "raftd-testbed hosts without a hosts file: exit $rc: $(cat "$tmp/tb.out")"
	fi
fi
# The source tree's copy: --help too, pointing at docs/TESTBED.md.
checks=$((checks + 1))
bash "$srcdir/scripts/testbed" --help >"$tmp/tb.src" 2>&1 ||
	fail "scripts/testbed --help: exit $?"
grep -q 'docs/TESTBED.md' "$tmp/tb.src" ||
	fail "scripts/testbed --help does not point at docs/TESTBED.md"

# ---- raftd.conf keys ------------------------------------------------------
# The key tables of common/config.c (static const char *const X_keys[]),
# each key as a .Cm in raftd.conf.5.
awk '/static const char \*const [a-z_]*_keys\[\] = \{/ { on = 1 }
	on { s = $0; while (match(s, /"[^"]*"/)) {
		print substr(s, RSTART + 1, RLENGTH - 2)
		s = substr(s, RSTART + RLENGTH) } }
	on && /\};/ { on = 0 }' "$srcdir/common/config.c" | sort -u >"$tmp/keys"
n=$(wc -l <"$tmp/keys")
checks=$((checks + 1))
if [ "$n" -eq 0 ]; then
	fail "common/config.c: no config keys found (has the key table changed shape?)"
else
	missing=""
	while IFS= read -r k; do
		grep -qE "^\.(It )?Cm (|.*[ .])$k( |\$)" "$builddir/man/raftd.conf.5" ||
			missing="$missing $k"
	done <"$tmp/keys"
	if [ -n "$missing" ]; then
		fail "raftd.conf.5: config keys not documented (as .Cm):$missing"
	else
		echo "ok: raftd.conf.5 documents all $n config keys"
	fi
fi

# ---- installed docs -------------------------------------------------------
installed=$(sed -n '/^raftddocs_DATA = /,/[^\\]$/p' "$builddir/Makefile" |
	sed 's/[\\]/ /g' | tr -s ' \t\n' '   ')
n=0
missing=""
for d in "$srcdir"/docs/*.md; do
	n=$((n + 1))
	case " $installed " in
	*" docs/$(basename "$d") "*) ;;
	*) missing="$missing docs/$(basename "$d")" ;;
	esac
done
checks=$((checks + 1))
if [ "$n" -eq 0 ]; then
	fail "no docs/*.md found in $srcdir"
elif [ -n "$missing" ]; then
	fail "not installed (add to raftddocs_DATA in Makefile.am):$missing"
else
	echo "ok: all $n docs/*.md are installed"
fi

echo "test_manpages: $checks checks, $fails failed"
[ "$fails" -eq 0 ] || exit 1
exit 0
