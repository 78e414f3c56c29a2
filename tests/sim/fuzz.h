/* fuzz.h: seeded random simulation runs (random cluster, configuration,
 * faults and client load; then heal and require liveness). */
#ifndef SIM_FUZZ_H
#define SIM_FUZZ_H

#include <stdbool.h>
#include <stdint.h>

#include "world.h"

/* Runs the random scenario of `seed`, with a rogue member forging a
 * message after every step if `rogue` (rogue.h).  Adds to *t; returns 0
 * when every check passed, -1 otherwise (the failure was printed with
 * SEED=seed). */
int fuzz_run(uint64_t seed, bool rogue, bool verbose, struct world_totals *t);

#endif /* SIM_FUZZ_H */
