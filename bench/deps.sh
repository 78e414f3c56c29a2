#!/bin/sh
# deps.sh: what the raftd/etcd side-by-side benchmark (bench/sidebyside.py)
# needs beyond the build and test dependencies of scripts/deps.sh: Debian's
# etcd 3.4 server and client, Go with etcd's client sources so that
# bench/etcdbench builds offline (GOPATH mode against /usr/share/gocode),
# and gnuplot for bench/plots.py.
#   sudo bench/deps.sh
set -eu
if [ "$(id -u)" -ne 0 ]; then
	echo "bench/deps.sh: run as root (apt-get install)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
	etcd-server etcd-client golang-go golang-etcd-server-dev python3 gnuplot-nox
# The etcd-server package may start a system etcd on 127.0.0.1:2379; the
# benchmark does not use it (it picks free ports), so it is left alone.
etcd --version | head -n 1
go version
gnuplot --version
