#!/bin/sh
# check-layering.sh: fail if a module includes a header of a layer it must
# not see.  The layers, bottom up:
#   daemon/core/  the pure consensus core: its own headers only;
#   common/       shared by raftd and raftctl: its own headers only;
#   client/       raftctl: client/ and common/;
#   daemon/       raftd: daemon/, daemon/core/ and common/.
# A quoted include must name a file of an allowed layer (system headers in
# <...> are not checked here; check-core-purity.sh limits the core's).
# The build's include paths (Makefile.am) enforce the same at compile
# time; this test says which include broke the rule and why.
top_srcdir=${top_srcdir:-.}
fail=0
files=0

# exists_in DIR NAME: is NAME (a quoted include) a file of DIR?
exists_in() {
	case $2 in
	core/*) [ "$1" = daemon/core ] && [ -f "$top_srcdir/daemon/$2" ] ;;
	*) [ -f "$top_srcdir/$1/$2" ] ;;
	esac
}

check() {
	layer=$1
	allowed=$2
	for f in "$top_srcdir/$layer"/*.c "$top_srcdir/$layer"/*.h; do
		[ -f "$f" ] || continue
		files=$((files + 1))
		grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
		while IFS= read -r line; do
			inc=$(printf '%s\n' "$line" | sed -E 's/.*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/')
			[ "$inc" = autoconfig.h ] && continue
			ok=0
			for dir in $allowed; do
				if exists_in "$dir" "$inc"; then
					ok=1
					break
				fi
			done
			if [ $ok -eq 0 ]; then
				echo "FAIL: ${f#"$top_srcdir"/}:${line%%:*}: includes \"$inc\", not in $layer's allowed layers ($allowed)"
				echo x >>"$tmp"
			fi
		done
	done
}

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
check daemon/core "daemon/core"
check common "common"
check client "client common"
check daemon "daemon daemon/core common"
if [ -s "$tmp" ]; then
	fail=1
fi
# The core's own includes are written "core/raft.h" from daemon/: only
# daemon/core files may be named that way by the daemon.
if grep -rnE '#[[:space:]]*include[[:space:]]*"(\.\./|daemon/|client/)' \
	"$top_srcdir/common" "$top_srcdir/client" "$top_srcdir/daemon" >/dev/null 2>&1; then
	grep -rnE '#[[:space:]]*include[[:space:]]*"(\.\./|daemon/|client/)' \
		"$top_srcdir/common" "$top_srcdir/client" "$top_srcdir/daemon"
	echo "FAIL: an include reaches across the tree by path"
	fail=1
fi
if [ $fail -ne 0 ]; then
	exit 1
fi
echo "layering: $files files, every quoted include within its layers"
exit 0
