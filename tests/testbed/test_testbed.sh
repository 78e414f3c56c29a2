#!/bin/bash
# test_testbed.sh: scripts/testbed end to end on five real sshd hosts, each
# a network namespace on a bridge of its own, with the testbed script run
# from a sixth namespace (the "workstation").  Three hosts are the
# bootstrap nodes, two are spares; the membership tasks (add_node,
# remove_node of the leader, rolling_restart) run under a write load.
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
load_pid=""

# ---- hosts: namespaces on a bridge, sshd in each -------------------------

# shellcheck source=tests/testbed/nshosts.sh
. "$here/nshosts.sh"
trap cleanup EXIT
trap 'exit 1' INT TERM
nshosts_up
pass
nshosts_sshd
pass

# ---- the hosts file ----------------------------------------------------

mkdir -p "$tmp/hosts" "$tmp/ws"
{
	echo "# test_testbed.sh: five namespaces; nodes h1..h3, spares h4, h5, clients c1, c2"
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
		if [ "$i" -le 3 ]; then
			echo "node h$i $(host_ip "$i") dir=$tmp/hosts/h$i"
		else
			echo "node h$i $(host_ip "$i") dir=$tmp/hosts/h$i spare"
		fi
	done
	echo "client c1 $(host_ip 4) dir=$tmp/hosts/c1"
	echo "client c2 $(host_ip 5) dir=$tmp/hosts/c2"
} >"$tmp/testbed.conf"

out=$tmp/out
tb_raftd=$raftd
# tb ARGS: scripts/testbed in the workstation namespace, from $tmp/ws (so
# raftlogs/ lands there); output in $out and on our stdout, status in $rc.
tb() {
	local t
	t=$(date +%s%N)
	(cd "$tmp/ws" && timeout 300 ip netns exec "$(ns_name 0)" \
		env RAFTD="$tb_raftd" RAFTCTL="$raftctl" \
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
expect_lines "address = \"$net\.1[1-3]:8001\"" 3
expect_lines "address = \"$net\.1[45]:8001\"" 0
expect_lines '^max_inflight = 3;$' 1

tb hosts
expect_rc 0
expect_lines '^node +h[1-3] .* id [1-3],' 3
expect_lines '^spare +h4 .* id 4,' 1
expect_lines '^spare +h5 .* id 5,' 1

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
expect_lines '^\[h[1-3]\] started, pid [0-9]+$' 3
expect_lines '^\[h[45]\] spare, not a member: not started' 2

tb run_node
expect_rc 0
expect_lines '^\[h[1-3]\] already running, pid [0-9]+$' 3
expect_lines '^\[h[45]\] spare, not a member: not started' 2

tb run_client -t 20 put color blue
expect_rc 0
tb run_client get color
expect_rc 0
expect_lines '^\[c[12]\] blue$' 2

tb run_client leader
expect_rc 0
leader=$(sed -n 's/^\[c1\] \([0-9][0-9]*\) .*/\1/p' "$out")
if [ -z "$leader" ] || [ "$leader" -lt 1 ] || [ "$leader" -gt 3 ]; then
	fail "no leader id in the output"
fi
pass

tb status
expect_rc 0
expect_lines '^\[h[1-3]\] running, pid [0-9]+: (leader|follower), term [0-9]+' 3
expect_lines '^\[h[45]\] spare, not a member' 2
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
expect_lines '^\[h[1-3]\] already running' 2
expect_lines '^\[h[45]\] spare, not a member' 2

# A snapshot on node 1 (from both client hosts: the second finds it
# taken), which get_raftlog fetches beside h1's raftlog.
tb run_client -t 30 snapshot --node 1
expect_rc 0
expect_lines '^\[c[12]\] node 1: snapshot at index [0-9]+ \(term [0-9]+\), [0-9]+ bytes$' 2

tb get_raftlog
expect_rc 0
for ((i = 1; i <= 3; i++)); do
	[ -s "$tmp/ws/raftlogs/h$i/raftlog" ] || fail "no raftlogs/h$i/raftlog"
	pass
done
expect_lines '^\[h[1-3]\] raftlog: [0-9]+ bytes' 3
expect_lines '^\[h[45]\] no raftlog \(a spare not added yet\)' 2
[ -s "$tmp/ws/raftlogs/h1/snapshot" ] || fail "no raftlogs/h1/snapshot"
pass
expect_lines '^\[h1\] snapshot: [0-9]+ bytes -> raftlogs/h1/snapshot$' 1
expect_lines '^\[h[1-3]\] node log: [0-9]+ bytes -> raftlogs/h[1-3]/raftd.log$' 3
expect_lines '^h1 .* [0-9]+ +[0-9]+ *$' 1

t1=$(date +%s.%N)
flow=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')

# The same copies, checked here directly.
"$raftctl" check "$tmp/ws/raftlogs" >/dev/null 2>&1 || fail "raftctl check on the copies"
pass
# And drawn: the node logs beside the raftlogs give the time lanes.
"$raftctl" timeline "$tmp/ws/raftlogs" -o "$tmp/ws/timeline.svg" 2>&1 ||
	fail "raftctl timeline on the copies"
grep -q 'class="span leader"' "$tmp/ws/timeline.svg" || fail "no leader span in the timeline"
pass

# ---- membership under a write load: 3 -> 5, remove the leader and a
# spare (5 -> 3), rolling restart, both back (3 -> 5) ----------------------

# members IDS: `testbed members` lists exactly these ids, every one a voter,
# and one leader (its id in $leader).
members() {
	tb members
	expect_rc 0
	local got
	got=$(awk '$3 == "voter" { print $1 }' "$out" | sort -n | tr '\n' ' ')
	[ "$got" = "$1 " ] || fail "voters \"$got\", want \"$1\""
	pass
	expect_lines '^[0-9]+ [^ ]+ learner' 0
	expect_lines '^[0-9]+ [^ ]+ voter leader$' 1
	leader=$(awk '$NF == "leader" { print $1 }' "$out")
}

# pid_of NAME: the pid in the host's pidfile ("" when none).
pid_of() { cat "$tmp/hosts/$1/raftd.pid" 2>/dev/null; }

all5=""
for ((i = 1; i <= nhosts; i++)); do
	all5+=${all5:+,}$(host_ip "$i"):8001
done

# The load: puts from the workstation, one at a time, every 50 ms, each
# with raftctl's retries (same tid) for up to 10 s, to any node of the five
# (raftctl finds the leader).  Bounded in count and in time (generously: it
# must still run when the membership steps end, on a machine busy with
# other tests too, and the test checks that it did); every put must
# succeed.
(
	n=0 ok=0 bad=0 end=$(($(date +%s) + 900))
	while [ $n -lt 20000 ] && [ ! -e "$tmp/load.stop" ] && [ "$(date +%s)" -lt $end ]; do
		n=$((n + 1))
		if timeout 20 ip netns exec "$(ns_name 0)" "$raftctl" -s "$all5" -t 10 \
			put "load-$n" "v$n" >/dev/null 2>>"$tmp/load.err"; then
			ok=$((ok + 1))
		else
			bad=$((bad + 1))
			echo "put load-$n failed at $(date +%T.%N)" >>"$tmp/load.err"
		fi
		# Renamed into place: a reader never sees the file half written.
		echo "$n $ok $bad" >"$tmp/load.count.tmp" &&
			mv -f "$tmp/load.count.tmp" "$tmp/load.count"
		sleep 0.05
	done
	stopped=bound
	[ ! -e "$tmp/load.stop" ] || stopped=asked
	echo "$n $ok $bad $stopped" >"$tmp/load.result"
) &
load_pid=$!
# Its first puts (bounded: 20 s).
n=0
until [ -s "$tmp/load.count" ] && [ "$(cut -d' ' -f2 "$tmp/load.count")" -ge 5 ]; do
	n=$((n + 1))
	[ $n -lt 200 ] || fail "the write load made no progress in 20 s: $(cat "$tmp/load.err" 2>/dev/null)"
	sleep 0.1
done
pass

tm0=$(date +%s.%N)

# 3 -> 5: the two spares, deployed and started in parallel, added one at a
# time.
tb add_node h4 h5
expect_rc 0
expect_lines '^\[h[45]\] started, pid [0-9]+ \(--join .*waiting to be added\)$' 2
expect_lines '^\[h4\] node 4 caught up and is a voter$' 1
expect_lines '^\[h5\] node 5 caught up and is a voter$' 1
expect_lines '^testbed: add_node ok on 2 host\(s\)$' 1
members "1 2 3 4 5"
tb status
expect_rc 0
expect_lines '^\[h[1-5]\] running, pid [0-9]+: (leader|follower), term [0-9]+' 5

# Again: nothing to do.
tb add_node h4
expect_rc 0
expect_lines '^\[h4\] already a member: 4 .* voter' 1

# 5 -> 3: the leader and a spare that does not lead, one at a time.
gone=h$leader
for h in h5 h4 h3; do
	[ "$h" = "$gone" ] || { gone2=$h; break; }
done
gone_pid=$(pid_of "$gone")
gone2_pid=$(pid_of "$gone2")
tb remove_node "$gone" "$gone2"
expect_rc 0
expect_lines "^\\[$gone\\] removed node ${gone#h}\$" 1
expect_lines "^\\[$gone2\\] removed node ${gone2#h}\$" 1
expect_lines "^\\[$gone\\] stopped pid $gone_pid\$" 1
expect_lines "^\\[$gone2\\] stopped pid $gone2_pid\$" 1
! alive "$gone_pid" || fail "$gone's raftd (pid $gone_pid) still runs"
pass
left=""
for ((i = 1; i <= nhosts; i++)); do
	[ "h$i" = "$gone" ] || [ "h$i" = "$gone2" ] || left+=${left:+ }$i
done
members "$left"
[ "h$leader" != "$gone" ] || fail "the removed node $gone still leads"
pass
# run_node leaves the removed nodes alone; status says what they are.
tb run_node
expect_rc 0
expect_lines "^\\[($gone|$gone2)\\] removed from the cluster \\(remove_node\\): not started" 2
expect_lines '^\[h[1-5]\] already running' 3
tb status
expect_rc 0
expect_lines "^\\[($gone|$gone2)\\] removed from the cluster \\(remove_node\\), not running\$" 2

# A node that does not come back stops the rolling restart, by name: a
# raftd build that cannot start goes to the first member (a follower: the
# leader goes last); the other two are not touched, and the cluster (two
# of three) goes on.
declare -A before
for i in $left; do
	before[$i]=$(pid_of "h$i")
done
cat >"$tmp/raftd-broken" <<'BROKEN'
#!/bin/sh
case $1 in
--version) echo "raftd 0-broken"; exit 0 ;;
-t) exit 0 ;;
esac
echo "raftd-broken: this build does not start" >&2
exit 1
BROKEN
chmod 755 "$tmp/raftd-broken"
tb_raftd=$tmp/raftd-broken
tb rolling_restart
tb_raftd=$raftd
expect_rc 1
first=$(sed -n 's/^testbed: rolling_restart stopped at h\([1-5]\); not done: h[1-5] h[1-5]$/\1/p' "$out")
[ -n "$first" ] || fail "rolling_restart did not stop after the first node"
pass
expect_lines "^\\[h$first\\] raftd did not start: raftd-broken: this build does not start\$" 1
expect_lines "^testbed: rolling_restart failed on 1 of 3 host\\(s\\): h$first\$" 1
for i in $left; do
	[ "$i" != "$first" ] || continue
	[ "$(pid_of "h$i")" = "${before[$i]}" ] || fail "h$i was restarted after h$first failed"
	pass
done

# Rolling restart of the three members (h$first down): the leader last,
# after a transfer; each one back and caught up before the next goes down.
load_before=$(cut -d' ' -f2 "$tmp/load.count")
tb rolling_restart
expect_rc 0
load_after=$(cut -d' ' -f2 "$tmp/load.count")
[ "$load_after" -gt "$load_before" ] || fail "no put completed during the rolling restart"
pass
echo "$me: $((load_after - load_before)) puts during the rolling restart"
expect_lines "^\\[h$first\\] was not running\$" 1
expect_lines '^\[h[1-5]\] caught up: commit [0-9]+ ' 3
expect_lines '^\[h[1-5]\] was the leader: transfer -> leader [0-9]+ \(' 1
old_leader=$(sed -n 's/^\[h\([1-5]\)\] was the leader: .*/\1/p' "$out")
expect_lines '^\[h[1-5]\] stopped pid [0-9]+$' 2
expect_lines '^\[h[1-5]\] started, pid [0-9]+$' 3
expect_lines '^\[h[1-5]\] installed bin/raftd: raftd' 3
expect_lines '^testbed: rolling_restart ok on 3 host\(s\)$' 1
[ "$(grep -E '^\[h[1-5]\] caught up' "$out" | tail -n 1 | cut -c2-3)" = "h$old_leader" ] ||
	fail "the leader (h$old_leader, which handed over) was not restarted last"
pass
for i in $left; do
	p=$(pid_of "h$i")
	if [ -z "$p" ] || [ "$p" = "${before[$i]}" ] || ! alive "$p"; then
		fail "h$i: pid ${before[$i]} -> \"$p\": not restarted"
	fi
	cmp -s "$raftd" "$tmp/hosts/h$i/bin/raftd" || fail "h$i: bin/raftd is not the build's"
	pass
done
members "$left"

# 3 -> 5: the removed bootstrap node comes back with empty data, the spare
# joins again (--join: its old data moved aside).
tb add_node "$gone" "$gone2"
expect_rc 0
expect_lines "^\\[($gone|$gone2)\\] moved the data of the removed member to data.removed" 2
expect_lines "^\\[$gone\\] node ${gone#h} caught up and is a voter\$" 1
expect_lines "^\\[$gone2\\] node ${gone2#h} caught up and is a voter\$" 1
members "1 2 3 4 5"

tm1=$(date +%s.%N)
membership=$(awk -v a="$tm0" -v b="$tm1" 'BEGIN { printf "%.1f", b - a }')

# The load stops (bounded: its current put's deadline); every put made it.
: >"$tmp/load.stop"
n=0
while alive "$load_pid" && [ $n -lt 300 ]; do
	sleep 0.1
	n=$((n + 1))
done
! alive "$load_pid" || fail "the write load did not stop within 30 s"
wait "$load_pid" 2>/dev/null
load_pid=""
read -r puts puts_ok puts_bad load_end <"$tmp/load.result" || fail "no result from the write load"
echo "$me: write load: $puts puts, $puts_ok ok, $puts_bad failed"
[ "$load_end" = asked ] || fail "the write load reached its bound before the membership steps ended"
pass
[ "$puts_bad" -eq 0 ] || fail "$puts_bad puts failed: $(tail -n 5 "$tmp/load.err")"
pass
[ "$puts_ok" -ge 50 ] || fail "only $puts_ok puts during the membership changes"
pass
got=$(timeout 30 ip netns exec "$(ns_name 0)" "$raftctl" -s "$all5" -t 10 list load- | wc -l)
[ "$got" -eq "$puts_ok" ] || fail "list load-: $got keys, want $puts_ok"
pass

# Every node's log, the joined ones' too, checked.
tb get_raftlog
expect_rc 0
expect_lines '^\[h[1-5]\] raftlog: [0-9]+ bytes' 5

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
echo "$me: membership (add 2, remove 2, rolling restart x2, add 2) took ${membership} s under $puts_ok puts (0 failed)"
echo "$me: $checks checks passed"
exit 0
