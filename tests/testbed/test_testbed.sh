#!/bin/bash
# test_testbed.sh: scripts/testbed end to end on five real sshd hosts, each
# a network namespace on a bridge of its own, with the testbed script run
# from a sixth namespace (the "workstation").
#
# The root namespace gets no address and no route: the bridge only joins
# the namespaces this test creates, so the private subnet below is seen by
# nobody else and two runs of this test cannot collide.  Everything made
# here (namespaces, bridge, veths, the sshd and raftd processes, keys, temp
# files) is removed on exit, also on failure; only /run/sshd, sshd's
# standard directory, is left in place.  Skips (77) without root,
# ip, sshd or working namespaces.
set -u

me=test_testbed
checks=0

skip() {
	echo "$me: SKIP: $*"
	exit 77
}

fail() {
	local f
	echo "$me: FAIL: $*"
	for f in "${tmp:-/nonexistent}"/sshd-*.log; do
		[ -s "$f" ] || continue
		echo "$me: last lines of $(basename "$f"):"
		tail -n 3 "$f" | sed 's/^/    | /'
	done
	exit 1
}

pass() { checks=$((checks + 1)); }

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=$(cd "${top_srcdir:-$here/../..}" && pwd)
top_builddir=$(cd "${top_builddir:-.}" && pwd)
testbed=$top_srcdir/scripts/testbed
raftd=$top_builddir/raftd
raftctl=$top_builddir/raftctl

[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
command -v ip >/dev/null 2>&1 || skip "no ip command (Debian iproute2)"
[ -x /usr/sbin/sshd ] || skip "no /usr/sbin/sshd (Debian openssh-server)"
for c in ssh scp ssh-keygen timeout; do
	command -v "$c" >/dev/null 2>&1 || skip "no $c (Debian openssh-client, coreutils)"
done
[ -x "$raftd" ] || { echo "$me: ERROR: $raftd not built"; exit 99; }
[ -x "$raftctl" ] || { echo "$me: ERROR: $raftctl not built"; exit 99; }
[ -f "$testbed" ] || { echo "$me: ERROR: no $testbed"; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_testbed.XXXXXX") || exit 99
tag=rtb$$                       # interface names: at most 15 characters
net=192.168.250                 # only on the namespaces' own veths
nhosts=5
namespaces=()
sshd_pids=()

# ---- cleanup -----------------------------------------------------------

# alive PID: exists and is not a zombie (raftd daemons are reaped by init,
# which here may take a second).
alive() {
	local st
	kill -0 "$1" 2>/dev/null || return 1
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ "$st" != Z ]
}

# Both run from the EXIT trap, which shellcheck cannot see.
# shellcheck disable=SC2317
kill_and_wait() {
	local p n
	for p in "$@"; do
		kill -KILL "$p" 2>/dev/null
	done
	for p in "$@"; do
		n=0
		while alive "$p" && [ "$n" -lt 100 ]; do
			sleep 0.05
			n=$((n + 1))
		done
	done
}

# A pid is one of ours when it runs inside one of our namespaces, or is a
# raftd whose working directory is one of our host directories.
# shellcheck disable=SC2317
cleanup() {
	local rc=$? pf p cwd ns pids=()
	trap - EXIT INT TERM
	for pf in "$tmp"/hosts/*/raftd.pid; do
		[ -f "$pf" ] || continue
		p=$(cat "$pf" 2>/dev/null)
		case $p in "" | *[!0-9]*) continue ;; esac
		cwd=$(readlink "/proc/$p/cwd" 2>/dev/null) || continue
		[ "$cwd" = "$(dirname "$pf")" ] && pids+=("$p")
	done
	for ns in "${namespaces[@]}"; do
		while read -r p; do
			[ -n "$p" ] && pids+=("$p")
		done < <(ip netns pids "$ns" 2>/dev/null)
	done
	pids+=("${sshd_pids[@]}")
	[ ${#pids[@]} -eq 0 ] || kill_and_wait "${pids[@]}"
	for ns in "${namespaces[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	for ((i = 0; i <= nhosts; i++)); do
		ip link del "${tag}a$i" 2>/dev/null
	done
	ip link del "$tag" 2>/dev/null
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- hosts: namespaces on a bridge, sshd in each -------------------------

# Host 0 is the workstation (runs scripts/testbed), 1..5 the testbed hosts.
ns_name() { if [ "$1" -eq 0 ]; then echo "$tag-ws"; else echo "$tag-h$1"; fi; }
host_ip() { echo "$net.$((10 + $1))"; }

err=$(ip netns add "$(ns_name 0)" 2>&1) || skip "ip netns add failed: $err"
namespaces+=("$(ns_name 0)")
err=$(ip link add "$tag" type bridge 2>&1) || skip "cannot create a bridge: $err"
ip link set "$tag" up || fail "bridge up"
for ((i = 0; i <= nhosts; i++)); do
	ns=$(ns_name "$i")
	if [ "$i" -gt 0 ]; then
		err=$(ip netns add "$ns" 2>&1) || skip "ip netns add failed: $err"
		namespaces+=("$ns")
	fi
	err=$(ip link add "${tag}a$i" type veth peer name "${tag}b$i" 2>&1) ||
		skip "cannot create a veth pair: $err"
	if ! { ip link set "${tag}b$i" netns "$ns" &&
		ip link set "${tag}a$i" master "$tag" &&
		ip link set "${tag}a$i" up &&
		ip -n "$ns" addr add "$(host_ip "$i")/24" dev "${tag}b$i" &&
		ip -n "$ns" link set "${tag}b$i" up &&
		ip -n "$ns" link set lo up; }; then
		fail "cannot set up host $i's network"
	fi
done
pass

ssh-keygen -q -t ed25519 -N '' -C testbed-host -f "$tmp/hostkey" || fail "ssh-keygen host key"
ssh-keygen -q -t ed25519 -N '' -C testbed-client -f "$tmp/id" || fail "ssh-keygen client key"
cp "$tmp/id.pub" "$tmp/authorized_keys"
# sshd's privilege separation directory (Debian's ssh.service makes it at
# boot).  Made if missing and then left alone: removing it at the end
# would break the sshd of another run of this test going on at the time.
mkdir -p /run/sshd || skip "cannot create /run/sshd"
for ((i = 1; i <= nhosts; i++)); do
	ip netns exec "$(ns_name "$i")" /usr/sbin/sshd -D -e -f /dev/null \
		-h "$tmp/hostkey" -o "ListenAddress=$(host_ip "$i")" \
		-o "AuthorizedKeysFile=$tmp/authorized_keys" \
		-o "PidFile=$tmp/sshd-$i.pid" -o StrictModes=no -o UsePAM=no \
		-o "Subsystem=sftp internal-sftp" >"$tmp/sshd-$i.log" 2>&1 &
	sshd_pids+=("$!")
	disown "$!" # killed by pid in cleanup(); no job report from bash
done
# Ready when each sshd listens (bounded: 10 s).
for ((i = 1; i <= nhosts; i++)); do
	n=0
	until ip netns exec "$(ns_name "$i")" ss -Hltn "sport = :22" | grep -q .; do
		kill -0 "${sshd_pids[i - 1]}" 2>/dev/null ||
			skip "sshd did not start: $(tr '\n' ' ' <"$tmp/sshd-$i.log")"
		n=$((n + 1))
		[ $n -lt 200 ] || fail "sshd on host $i not listening after 10 s"
		sleep 0.05
	done
done
pass

# ---- the hosts file ----------------------------------------------------

mkdir -p "$tmp/hosts" "$tmp/ws"
{
	echo "# test_testbed.sh: five namespaces; nodes h1..h5, clients c1, c2"
	echo "ssh_user = root"
	echo "ssh_key = id                     # relative to this file"
	echo "ssh_config = /dev/null"
	echo "ssh_option = StrictHostKeyChecking=no"
	echo "ssh_option = UserKnownHostsFile=/dev/null"
	echo "ssh_option = LogLevel=ERROR"
	# One ssh connection per host, reused by the later calls (halves the
	# flow's time); the socket path must stay short (108 bytes).
	if [ ${#tmp} -le 60 ]; then
		echo "ssh_option = ControlMaster=auto"
		echo "ssh_option = ControlPath=$tmp/cm-%C"
		echo "ssh_option = ControlPersist=60"
	fi
	echo "raft_port = 8001"
	# Pipelining deeper than raftd's default, across real hosts.
	echo "max_inflight = 3"
	# Elections slower than raftd's default: the test reads the leader
	# and then every host's status over ssh, seconds apart on a machine
	# that runs other tests meanwhile, and expects the same leader.
	echo "election_timeout_min_ms = 500"
	echo "election_timeout_max_ms = 1000"
	echo "heartbeat_ms = 100"
	for ((i = 1; i <= nhosts; i++)); do
		echo "node h$i $(host_ip "$i") dir=$tmp/hosts/h$i"
	done
	echo "client c1 $(host_ip 4) dir=$tmp/hosts/c1"
	echo "client c2 $(host_ip 5) dir=$tmp/hosts/c2"
} >"$tmp/testbed.conf"

out=$tmp/out
# tb ARGS: scripts/testbed in the workstation namespace, from $tmp/ws (so
# raftlogs/ lands there); output in $out and on our stdout, status in $rc.
tb() {
	local t
	t=$(date +%s%N)
	(cd "$tmp/ws" && timeout 300 ip netns exec "$(ns_name 0)" \
		env RAFTD="$raftd" RAFTCTL="$raftctl" \
		bash "$testbed" -f "$tmp/testbed.conf" "$@") >"$out" 2>&1
	rc=$?
	t=$((($(date +%s%N) - t) / 1000000))
	echo "\$ testbed $*    # exit $rc, ${t} ms"
	sed 's/^/    /' "$out"
}

# expect_lines PATTERN COUNT: exactly COUNT lines of $out match.
expect_lines() {
	local got
	got=$(grep -c -E -- "$1" "$out")
	[ "$got" -eq "$2" ] || fail "want $2 lines matching /$1/, got $got"
	pass
}

expect_rc() {
	[ "$rc" -eq "$1" ] || fail "exit status $rc, want $1"
	pass
}

# Host lines carry the host's name; the only others are testbed's own.
expect_prefixed() {
	if grep -v -E '^\[(h[1-5]|c[12]|bad)\] |^testbed: |^\$ ' "$out" | grep -q .; then
		fail "a line without a host prefix"
	fi
	pass
}

if command -v shellcheck >/dev/null 2>&1; then
	shellcheck "$testbed" || fail "shellcheck scripts/testbed"
	pass
else
	echo "$me: (shellcheck not installed: not linting scripts/testbed)"
fi

tb config
expect_rc 0
expect_lines "address = \"$net\.1[1-5]:8001\"" 5
expect_lines '^max_inflight = 3;$' 1

tb -j 2 uptime
expect_rc 0
expect_lines '^\[(h[1-5]|c[12])\] .*load average' 7
expect_prefixed

tb getip
expect_rc 0
for ((i = 1; i <= nhosts; i++)); do
	expect_lines "^\[h$i\] $(host_ip "$i")\$" 1
done

# A host that cannot be reached is reported by name; the others go on.
cp "$tmp/testbed.conf" "$tmp/testbed.conf.good"
echo "client bad $(host_ip 1) ssh_port=1 dir=$tmp/hosts/bad" >>"$tmp/testbed.conf"
tb uptime
expect_rc 1
expect_lines '^\[(h[1-5]|c[12])\] .*load average' 7
expect_lines '^\[bad\] .*(refused|closed|port 1)' 1
expect_lines '^testbed: uptime failed on 1 of 8 host\(s\): bad$' 1
mv "$tmp/testbed.conf.good" "$tmp/testbed.conf"

# Nothing deployed yet: every node fails, by name, and says why.
tb run_node
expect_rc 1
expect_lines '^\[h[1-5]\] no remote directory .*: run upload_node first$' 5
expect_lines '^testbed: run_node failed on 5 of 5 host\(s\): h1 h2 h3 h4 h5$' 1

# ---- the flow: deploy, write, lose the leader, write, restore, check --

t0=$(date +%s.%N)

tb saveip
expect_rc 0
for ((i = 1; i <= nhosts; i++)); do
	[ "$(cat "$tmp/hosts/h$i/address")" = "$(host_ip "$i"):8001" ] ||
		fail "h$i: address file holds \"$(cat "$tmp/hosts/h$i/address")\""
	pass
done

tb upload_node
expect_rc 0
expect_lines '^\[h[1-5]\] installed bin/raftd: raftd' 5
for ((i = 1; i <= nhosts; i++)); do
	cmp -s "$raftd" "$tmp/hosts/h$i/bin/raftd" || fail "h$i: bin/raftd differs"
	[ -f "$tmp/hosts/h$i/raftd.conf" ] || fail "h$i: no raftd.conf"
	pass
done

tb upload_client
expect_rc 0
expect_lines '^\[c[12]\] installed bin/raftctl' 2

tb run_node
expect_rc 0
expect_lines '^\[h[1-5]\] started, pid [0-9]+$' 5

tb run_node
expect_rc 0
expect_lines '^\[h[1-5]\] already running, pid [0-9]+$' 5

tb run_client -t 20 put color blue
expect_rc 0
tb run_client get color
expect_rc 0
expect_lines '^\[c[12]\] blue$' 2

tb run_client leader
expect_rc 0
leader=$(sed -n 's/^\[c1\] \([0-9][0-9]*\) .*/\1/p' "$out")
if [ -z "$leader" ] || [ "$leader" -lt 1 ] || [ "$leader" -gt $nhosts ]; then
	fail "no leader id in the output"
fi
pass

tb status
expect_rc 0
expect_lines '^\[h[1-5]\] running, pid [0-9]+: (leader|follower), term [0-9]+' 5
expect_lines "^\[h$leader\] running, pid [0-9]+: leader, term" 1
leader_pid=$(cat "$tmp/hosts/h$leader/raftd.pid")

tb stop_node --kill "h$leader"
expect_rc 0
expect_lines "^\[h$leader\] killed pid $leader_pid \(SIGKILL\)\$" 1
expect_lines '^\[h[1-5]\]' 1
! alive "$leader_pid" || fail "pid $leader_pid survived stop_node --kill"
pass

tb run_client -t 20 put shape circle
expect_rc 0
tb run_client get shape
expect_rc 0
expect_lines '^\[c[12]\] circle$' 2
tb run_client get color
expect_rc 0
expect_lines '^\[c[12]\] blue$' 2
tb run_client -t 20 add tb-1 "after the leader died"
expect_rc 0

tb status
expect_rc 1
expect_lines "^\[h$leader\] not running\$" 1
expect_lines "^testbed: status failed on 1 of 5 host\(s\): h$leader\$" 1

tb run_node
expect_rc 0
expect_lines "^\[h$leader\] started, pid [0-9]+\$" 1
expect_lines '^\[h[1-5]\] already running' 4

# A snapshot on node 1 (from both client hosts: the second finds it
# taken), which get_raftlog fetches beside h1's raftlog.
tb run_client -t 30 snapshot --node 1
expect_rc 0
expect_lines '^\[c[12]\] node 1: snapshot at index [0-9]+ \(term [0-9]+\), [0-9]+ bytes$' 2

tb get_raftlog
expect_rc 0
for ((i = 1; i <= nhosts; i++)); do
	[ -s "$tmp/ws/raftlogs/h$i/raftlog" ] || fail "no raftlogs/h$i/raftlog"
	pass
done
expect_lines '^\[h[1-5]\] raftlog: [0-9]+ bytes' 5
[ -s "$tmp/ws/raftlogs/h1/snapshot" ] || fail "no raftlogs/h1/snapshot"
pass
expect_lines '^\[h1\] snapshot: [0-9]+ bytes -> raftlogs/h1/snapshot$' 1
expect_lines '^h1 .* [0-9]+ +[0-9]+ *$' 1

t1=$(date +%s.%N)
flow=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')

# The same copies, checked here directly.
"$raftctl" check "$tmp/ws/raftlogs" >/dev/null 2>&1 || fail "raftctl check on the copies"
pass

# ---- teardown through the script itself ----------------------------------

tb stop_node
expect_rc 0
expect_lines '^\[h[1-5]\] stopped pid [0-9]+$' 5
for ((i = 1; i <= nhosts; i++)); do
	[ ! -e "$tmp/hosts/h$i/raftd.pid" ] || fail "h$i: raftd.pid left behind"
	pass
done

# In a sanitizer build, raftd's reports land in its log.
for ((i = 1; i <= nhosts; i++)); do
	if grep -E 'Sanitizer|runtime error' "$tmp/hosts/h$i/raftd.log"; then
		fail "h$i: sanitizer report in raftd.log"
	fi
	pass
done

tb stop_node h1
expect_rc 0
expect_lines '^\[h1\] not running$' 1

tb clean_node --all
expect_rc 0
expect_lines '^\[h[1-5]\] removed ' 5
for ((i = 1; i <= nhosts; i++)); do
	[ ! -e "$tmp/hosts/h$i" ] || fail "h$i: remote dir left behind"
	pass
done

echo "$me: deploy-to-check flow (saveip .. get_raftlog + check) took ${flow} s"
echo "$me: $checks checks passed"
exit 0
