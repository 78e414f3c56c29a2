#!/bin/sh
# deps.sh: install the Debian packages raftd needs to build and test.
# Usage: scripts/deps.sh            (as root, or with sudo available)
set -e
PKGS="build-essential autoconf automake libtool pkg-config \
libxmlrpc-core-c3-dev libcurl4-openssl-dev libconfig-dev nettle-dev libmicrohttpd-dev \
python3 iproute2 nftables openssh-server openssh-client procps psmisc openssl \
clang-format shellcheck \
chromium chromium-driver python3-selenium \
libsystemd-dev systemd libedit-dev zsh"
# mandoc: tests/unit/test_manpages.sh lints the manual pages with it.
PKGS="$PKGS mandoc"
# gnuplot: tests/unit/test_plots.sh draws the committed bench results.
PKGS="$PKGS gnuplot-nox"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $PKGS
