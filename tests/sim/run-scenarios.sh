#!/bin/sh
# run-scenarios.sh: the scripted simulation scenarios (automake test).
exec "${top_builddir:-.}/tests/sim/sim" --scenarios
