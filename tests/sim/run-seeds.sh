#!/bin/sh
# run-seeds.sh: the seeded random simulation runs (automake test);
# SIM_SEEDS=n for more, SEED=n to replay one.
exec "${top_builddir:-.}/tests/sim/sim" --seeds
