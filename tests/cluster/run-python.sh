#!/bin/sh
# run-python.sh: runs one cluster test with the python3 that configure found; skips (77) without one.
# Usage (from Makefile.am's PY_LOG_COMPILER): run-python.sh PYTHON3 TEST.py
py=$1
shift
case $py in
'' | no)
	echo "python3 was not found by configure: skipped"
	exit 77
	;;
esac
if ! command -v "$py" >/dev/null 2>&1; then
	echo "$py: not found: skipped"
	exit 77
fi
# No __pycache__ in the source tree.
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE
exec "$py" "$@"
