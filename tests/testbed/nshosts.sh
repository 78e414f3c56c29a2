# nshosts.sh: test hosts for the ssh testbed: network namespaces on a
# bridge of their own, each with a real sshd (tests/testbed/test_testbed.sh,
# tests/testbed/timeline-demo.sh).  Sourced by bash, not run.
#
# The script that sources it sets: tmp (its temp dir), tag (a short
# prefix for interface and namespace names), net (the first three octets
# of a private /24 seen only on the namespaces' veths), nhosts, the empty
# arrays namespaces and sshd_pids, load_pid (a loop to stop first, or
# ""), and the functions skip MSG (the machine cannot run it) and
# fail MSG.  Host 0 is the workstation (runs scripts/testbed), 1..nhosts
# the testbed hosts.  nshosts_up makes the network, nshosts_sshd starts an
# sshd in each host and waits until each listens; cleanup (for the EXIT
# trap) ends every process of ours by pid and removes what was made.
# shellcheck shell=bash disable=SC2154

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
	local rc=$? pf p cwd ns i pids=()
	trap - EXIT INT TERM
	# The write load's loop first, so that it starts nothing new.
	[ -z "$load_pid" ] || kill_and_wait "$load_pid"
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

# Host 0 is the workstation (runs scripts/testbed), 1..nhosts the testbed
# hosts.
ns_name() { if [ "$1" -eq 0 ]; then echo "$tag-ws"; else echo "$tag-h$1"; fi; }
host_ip() { echo "$net.$((10 + $1))"; }

nshosts_up() {
	local i ns err
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
}

nshosts_sshd() {
	local i n
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
}
