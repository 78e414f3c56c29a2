#!/bin/sh
# run-golden.sh: the golden-trace simulation runs (automake test).
exec "${top_builddir:-.}/tests/sim/sim" --golden
