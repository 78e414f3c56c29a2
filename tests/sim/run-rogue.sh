#!/bin/sh
# run-rogue.sh: the seeded random simulation runs with a rogue member
# forging a message after every step (automake test); SIM_ROGUE_SEEDS=n
# for more, SEED=n to replay one.
exec "${top_builddir:-.}/tests/sim/sim" --rogue
