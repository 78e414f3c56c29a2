#!/bin/sh
# test_unit.sh: the built raftd.service passes `systemd-analyze verify` without a word, keeps its hardening (offline security exposure at most 3.0), and says what the product needs (Type=notify, the config path, reload by SIGHUP); etc/raftd.sysusers makes its user; the Environment= drop-in lines the docs give are one assignment each.
# Skips (77) only when systemd-analyze is not installed (Debian: systemd).
top_builddir=${top_builddir:-.}
sa=${SYSTEMD_ANALYZE:-systemd-analyze}
case $sa in
'' | no) sa=systemd-analyze ;;
esac
if ! command -v "$sa" >/dev/null 2>&1; then
	echo "systemd-analyze not found (Debian: systemd): skipped"
	exit 77
fi
unit=$top_builddir/raftd.service
raftd=$top_builddir/raftd
for f in "$unit" "$raftd"; do
	if [ ! -f "$f" ]; then
		echo "FAIL: $f is not built"
		exit 1
	fi
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/raftd-unit.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() {
	pass=$((pass + 1))
	echo "ok: $1"
}
bad() {
	fail=$((fail + 1))
	echo "FAIL: $1"
}

# The installed unit names @bindir@/raftd, which need not exist before
# `make install`: verify a copy whose ExecStart names the built binary
# (the rest of the line as it is).
abs_raftd=$(cd "$(dirname "$raftd")" && pwd)/raftd
sed "s|^ExecStart=[^ ]*|ExecStart=$abs_raftd|" "$unit" >"$tmp/raftd.service"

# Every line of the unit as built: no @VAR@ left unsubstituted.
if grep -n '@[a-z_]*@' "$unit"; then
	bad "raftd.service still has @...@ placeholders"
else
	ok "raftd.service has its paths filled in"
fi

# verify exits 0 even on unknown keys or bad values (it only warns), so
# any output at all is a failure.  --man=no: the man pages need not be
# installed yet.
out=$("$sa" verify --man=no "$tmp/raftd.service" 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
	ok "systemd-analyze verify: no error, no warning"
else
	bad "systemd-analyze verify (exit $rc):"
	printf '%s\n' "$out"
fi

# The check above must be able to fail: a misspelt value and an unknown
# key are reported.
sed -e 's/^Type=notify$/Type=notfy/' -e 's/^\[Service\]$/[Service]\nNoSuchKey=1/' \
	"$tmp/raftd.service" >"$tmp/broken.service"
out=$("$sa" verify --man=no "$tmp/broken.service" 2>&1)
case $out in
*notfy*NoSuchKey* | *NoSuchKey*notfy*) ok "a broken copy is reported (control)" ;;
*) bad "a broken copy was not reported: $out" ;;
esac

# The drop-in lines the docs give (the unit's comment, the logrotate file,
# README.md: `Environment=...RAFTD_ARGS...`) are each one assignment:
# unquoted, systemd splits a line at spaces, ignores the words after the
# first and raftd gets a bare --id.  Each is verified in a copy of the
# unit.
srcdir=${top_srcdir:-.}
n=0
for f in "$unit" "$srcdir/etc/raftd.logrotate" "$srcdir/README.md"; do
	grep -h 'Environment=.*RAFTD_ARGS=.' "$f" |
		sed -e 's/^#//' -e 's/^[[:space:]]*//' -e '/^Environment=/!d' |
		grep -v '^Environment=RAFTD_ARGS=$'
done >"$tmp/dropins"
while IFS= read -r line; do
	n=$((n + 1))
	sed "s|^\[Service\]\$|[Service]\n$line|" "$tmp/raftd.service" \
		>"$tmp/dropin.service"
	out=$("$sa" verify --man=no "$tmp/dropin.service" 2>&1)
	if [ -z "$out" ]; then
		ok "the documented drop-in line is one assignment: $line"
	else
		bad "the documented drop-in line $line: $out"
	fi
done <"$tmp/dropins"
if [ "$n" -lt 3 ]; then
	bad "found $n documented RAFTD_ARGS lines, expected 3 (docs changed?)"
fi

# The hardening: systemd's own offline score (0 best .. 10 worst;
# --threshold counts tenths).
out=$("$sa" security --offline=true --threshold=30 --no-pager \
	"$tmp/raftd.service" 2>&1)
rc=$?
level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if [ "$rc" -eq 0 ] && [ -n "$level" ]; then
	ok "systemd-analyze security: exposure $level (at most 3.0)"
else
	bad "systemd-analyze security (exit $rc, level '$level'):"
	printf '%s\n' "$out" | grep '✗' | head -20
fi

# What raftd needs from its unit ($MAINPID is systemd's, not the shell's).
# shellcheck disable=SC2016
for want in '^Type=notify$' '^User=raftd$' '^Group=raftd$' \
	"^ExecStart=/.*/raftd --config /.*/raftd/raftd.conf " \
	'^ExecReload=/bin/kill -HUP \$MAINPID$' '^KillSignal=SIGTERM$' \
	'^StateDirectory=raftd$' '^Restart=on-failure$' \
	'^ProtectSystem=strict$' \
	'^RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6$'; do
	if grep -q "$want" "$unit"; then
		ok "raftd.service has $want"
	else
		bad "raftd.service lacks $want"
	fi
done
# A leader hands over within two election timeouts: the stop timeout
# leaves room for that with the usual election timeouts.
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)$/\1/p' "$unit")
if [ -n "$stop" ] && [ "$stop" -ge 10 ]; then
	ok "TimeoutStopSec=$stop"
else
	bad "TimeoutStopSec missing or short ('$stop')"
fi
# The path ExecStart reads is the one raftd reads without --config.
conf=$(sed -n 's/^ExecStart=[^ ]* --config \([^ ]*\).*/\1/p' "$unit")
if "$raftd" --help | grep -qF "$conf"; then
	ok "raftd's default config is the unit's ($conf)"
else
	bad "raftd --help does not name $conf as the default config"
fi

# The sysusers.d file makes the user and group the unit names.
sysusers=$(command -v systemd-sysusers)
if [ -z "$sysusers" ]; then
	echo "note: systemd-sysusers not found: etc/raftd.sysusers not checked"
else
	mkdir -p "$tmp/root/etc"
	file=$(cd "${top_srcdir:-.}/etc" && pwd)/raftd.sysusers
	if out=$("$sysusers" --root="$tmp/root" "$file" 2>&1) &&
		grep -q '^raftd:x:[0-9]*:[0-9]*:[^:]*:/var/lib/raftd:' \
			"$tmp/root/etc/passwd" &&
		grep -q '^raftd:x:' "$tmp/root/etc/group"; then
		ok "etc/raftd.sysusers makes the user and group raftd"
	else
		bad "etc/raftd.sysusers: $out"
	fi
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
