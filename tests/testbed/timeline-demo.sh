#!/bin/bash
# timeline-demo.sh: a real scripts/testbed run with a network partition in
# it, drawn by `raftctl timeline` from what `testbed get_raftlog` fetched.
# Not a test (not in make check): it makes docs/img/timeline-testbed.svg.
#
#   top_builddir=build tests/testbed/timeline-demo.sh docs/img/timeline-testbed.svg
#
# It builds the network tests/testbed/test_testbed.sh builds: network
# namespaces on a bridge of their own (no address in the root namespace),
# five testbed hosts with a real sshd each and a sixth namespace, the
# workstation, from which it runs scripts/testbed.  Then, as a user would:
# saveip, upload_node, upload_client, run_node (five voters), run_client
# put, a write load (raftctl put from the workstation, one every 50 ms),
# a partition cut with nftables rules inside the hosts' namespaces (the
# leader's host and one other against the other three; traffic dropped
# both ways) for about 4 s, healed; stop_node --kill of a follower, run_node
# again, more load, get_raftlog (from the running nodes), stop_node; and
# finally  raftctl timeline raftlogs -o OUT.svg --title ...
# and OUT.png beside it (rsvg-convert, when installed).
#
# raftd, raftctl: the build directory's (top_builddir, default the
# current directory).  TIMELINE_KEEP=DIR copies the fetched raftlogs/ and
# the run's transcript there.  Everything it made (namespaces, bridge,
# veths, sshd and raftd processes, keys, temp files) is removed on exit;
# /run/sshd is made if missing and left in place.  Needs root, ip, nft,
# sshd, ssh.
set -u

me=timeline-demo

die() {
	echo "$me: $*" >&2
	exit 1
}

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=$(cd "${top_srcdir:-$here/../..}" && pwd)
top_builddir=$(cd "${top_builddir:-.}" && pwd)
testbed=$top_srcdir/scripts/testbed
raftd=$top_builddir/raftd
raftctl=$top_builddir/raftctl

[ $# -eq 1 ] || die "usage: [top_builddir=BUILDDIR] $0 OUT.svg   (as root)"
case $1 in
*.svg) ;;
*) die "the output file must end in .svg" ;;
esac
out_svg=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") || die "no directory for $1"
out_png=${out_svg%.svg}.png

[ "$(id -u)" -eq 0 ] || die "needs root for network namespaces"
for c in ip nft ssh scp ssh-keygen timeout; do
	command -v "$c" >/dev/null 2>&1 || die "no $c (Debian iproute2, nftables, openssh-client)"
done
[ -x /usr/sbin/sshd ] || die "no /usr/sbin/sshd (Debian openssh-server)"
[ -x "$raftd" ] || die "$raftd not built (set top_builddir)"
[ -x "$raftctl" ] || die "$raftctl not built (set top_builddir)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-demo.XXXXXX") || exit 1
tag=rtl$$ # interface names: at most 15 characters
net=192.168.251
nhosts=5
namespaces=()
sshd_pids=()
load_pid=""

# ---- hosts: namespaces on a bridge, sshd in each (as test_testbed.sh) -----

skip() { die "$@"; }
fail() { die "$@"; }
# shellcheck source=tests/testbed/nshosts.sh
. "$here/nshosts.sh"
trap cleanup EXIT
trap 'exit 1' INT TERM
nshosts_up
# The table the partition's rules go into (empty until then).
for ((i = 1; i <= nhosts; i++)); do
	printf '%s\n' "add table inet tldemo" \
		"add chain inet tldemo input { type filter hook input priority 0; policy accept; }" |
		ip netns exec "$(ns_name "$i")" nft -f - || die "nft in $(ns_name "$i")"
done
nshosts_sshd

# ---- the hosts file: five nodes, one client host ---------------------------

mkdir -p "$tmp/hosts" "$tmp/ws"
{
	echo "# timeline-demo.sh: five namespaces, nodes h1..h5, client c1"
	echo "ssh_user = root"
	echo "ssh_key = id"
	echo "ssh_config = /dev/null"
	echo "ssh_option = StrictHostKeyChecking=no"
	echo "ssh_option = UserKnownHostsFile=/dev/null"
	echo "ssh_option = LogLevel=ERROR"
	if [ ${#tmp} -le 60 ]; then
		echo "ssh_option = ControlMaster=auto"
		echo "ssh_option = ControlPath=$tmp/cm-%C"
		echo "ssh_option = ControlPersist=60"
	fi
	echo "raft_port = 8001"
	echo "election_timeout_min_ms = 500"
	echo "election_timeout_max_ms = 1000"
	echo "heartbeat_ms = 100"
	for ((i = 1; i <= nhosts; i++)); do
		echo "node h$i $(host_ip "$i") dir=$tmp/hosts/h$i"
	done
	echo "client c1 $(host_ip 1) dir=$tmp/hosts/c1"
} >"$tmp/testbed.conf"

log=$tmp/ws/transcript
t_start=$(date +%s.%N)
# note TEXT: a line in the transcript, with the time since the start.
note() {
	local t
	t=$(awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%6.1f", b - a }')
	echo "[$t s] $*" | tee -a "$log"
}
# tb ARGS: scripts/testbed from the workstation namespace, in $tmp/ws (so
# raftlogs/ lands there); its output in $tmp/out and the transcript.
tb() {
	note "\$ testbed $*"
	(cd "$tmp/ws" && timeout 120 ip netns exec "$(ns_name 0)" \
		env RAFTD="$raftd" RAFTCTL="$raftctl" \
		bash "$testbed" -f "$tmp/testbed.conf" "$@") >"$tmp/out" 2>&1
	rc=$?
	sed 's/^/      /' "$tmp/out" | tee -a "$log"
	return $rc
}
ctl() { timeout 15 ip netns exec "$(ns_name 0)" "$raftctl" "$@"; }

all5=""
for ((i = 1; i <= nhosts; i++)); do
	all5+=${all5:+,}$(host_ip "$i"):8001
done

# ---- the run --------------------------------------------------------------

tb saveip || die "saveip failed"
tb upload_node || die "upload_node failed"
tb upload_client || die "upload_client failed"
tb run_node || die "run_node failed"
tb run_client -t 20 put color blue || die "run_client put failed"

# The write load: one put at a time from the workstation, to any of the
# five (raftctl finds the leader), every 50 ms; bounded in count and time.
(
	n=0 ok=0 end=$(($(date +%s) + 120))
	while [ $n -lt 2000 ] && [ ! -e "$tmp/load.stop" ] && [ "$(date +%s)" -lt $end ]; do
		n=$((n + 1))
		if timeout 12 ip netns exec "$(ns_name 0)" "$raftctl" -s "$all5" -t 10 \
			put "load-$n" "v$n" >/dev/null 2>>"$tmp/load.err"; then
			ok=$((ok + 1))
		fi
		# Renamed into place: a reader never sees the file half written.
		echo "$n $ok" >"$tmp/load.count.tmp" &&
			mv -f "$tmp/load.count.tmp" "$tmp/load.count"
		sleep 0.05
	done
) &
load_pid=$!
note "write load started (pid $load_pid)"
sleep 3

tb run_client leader || die "run_client leader failed"
leader=$(sed -n 's/^\[c1\] \([0-9][0-9]*\) .*/\1/p' "$tmp/out")
case $leader in [1-5]) ;; *) die "no leader id from run_client leader" ;; esac
tb status
old_term=$(sed -n "s/^\[h$leader\] running, pid [0-9]*: leader, term \([0-9]*\).*/\1/p" "$tmp/out")
[ -n "$old_term" ] || die "h$leader is not the leader in status"

# The minority: the leader and the next node; the majority: the other three.
other=$((leader % nhosts + 1))
minority=("$leader" "$other")
majority=()
for ((i = 1; i <= nhosts; i++)); do
	[ "$i" -eq "$leader" ] || [ "$i" -eq "$other" ] || majority+=("$i")
done
ips() {
	local i s=""
	for i in "$@"; do s+=${s:+, }$(host_ip "$i"); done
	echo "$s"
}
min_ips=$(ips "${minority[@]}")
maj_ips=$(ips "${majority[@]}")
# set_rules cut|heal: each host's input chain replaced, one nft transaction each.
set_rules() {
	local i from
	for ((i = 1; i <= nhosts; i++)); do
		if [ "$i" -eq "$leader" ] || [ "$i" -eq "$other" ]; then
			from=$maj_ips
		else
			from=$min_ips
		fi
		{
			echo "flush chain inet tldemo input"
			[ "$1" = cut ] && echo "add rule inet tldemo input ip saddr { $from } drop"
		} | ip netns exec "$(ns_name "$i")" nft -f - || die "nft on h$i"
	done
}

set_rules cut
t_cut=$(date +%s.%N)
note "partition: h${minority[0]} h${minority[1]} (leader h$leader, term $old_term) | h${majority[0]} h${majority[1]} h${majority[2]}"
# Bounded wait (15 s) for a new leader on the majority side (raftctl
# status from the workstation, which the rules do not cut off), then hold
# the partition until it has lasted 4 s.
maj_srv=$(ips "${majority[@]}" | sed 's/, /:8001,/g'):8001
new_leader="" new_term=""
for ((n = 0; n < 30; n++)); do
	# (the LEADER column: the node ids; ID is the position in -s)
	ctl -s "$maj_srv" -t 2 status >"$tmp/status" 2>&1
	read -r new_leader new_term < <(awk '$3 == "leader" { print $5, $4; exit }' "$tmp/status")
	case " ${majority[*]} " in
	*" ${new_leader:-x} "*) break ;;
	esac
	new_leader="" new_term=""
	sleep 0.5
done
[ -n "$new_leader" ] || die "no new leader on the majority side within 15 s: $(cat "$tmp/status")"
note "new leader on the majority side: h$new_leader, term $new_term"
while awk -v a="$t_cut" -v b="$(date +%s.%N)" 'BEGIN { exit !(b - a < 4) }'; do
	sleep 0.2
done
set_rules heal
note "partition healed"
sleep 3

# A follower of the majority side dies and comes back.
victim=""
for i in "${majority[@]}"; do
	[ "$i" -eq "$new_leader" ] || { victim=$i; break; }
done
tb stop_node --kill "h$victim"
sleep 2
tb run_node
sleep 3

: >"$tmp/load.stop"
n=0
while alive "$load_pid" && [ $n -lt 150 ]; do
	sleep 0.1
	n=$((n + 1))
done
kill_and_wait "$load_pid"
wait "$load_pid" 2>/dev/null
load_pid=""
note "write load stopped: $(cut -d' ' -f1 "$tmp/load.count") puts, $(cut -d' ' -f2 "$tmp/load.count") ok"

tb status
# Fetched from the running cluster, as in docs/TESTBED.md's session; the
# picture ends at the last node log line (h$victim's return).
tb get_raftlog || note "get_raftlog reported a problem (see above)"
tb stop_node

title="scripts/testbed, 5 hosts: h${minority[0]} (leader) + h${minority[1]} cut off from h${majority[0]} h${majority[1]} h${majority[2]} for 4 s; h$victim killed, restarted"
note "\$ raftctl timeline raftlogs -o $(basename "$out_svg") --title '$title'"
(cd "$tmp/ws" && "$raftctl" timeline raftlogs -o "$out_svg" --title "$title") ||
	die "raftctl timeline failed"
if command -v rsvg-convert >/dev/null 2>&1; then
	rsvg-convert -o "$out_png" "$out_svg" || die "rsvg-convert failed"
	note "wrote $out_svg and $out_png"
else
	note "wrote $out_svg (no rsvg-convert: no PNG; Debian librsvg2-bin)"
fi
if [ -n "${TIMELINE_KEEP:-}" ]; then
	mkdir -p "$TIMELINE_KEEP" && cp -r "$tmp/ws/raftlogs" "$log" "$TIMELINE_KEEP"/ &&
		note "raftlogs/ and the transcript copied to $TIMELINE_KEEP"
fi
exit 0
