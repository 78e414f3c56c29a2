/* scenarios.h: the scripted simulation scenarios (elections, partitions,
 * the paper's Figure 8, crashes, reads, batching, forged messages). */
#ifndef SIM_SCENARIOS_H
#define SIM_SCENARIOS_H

#include <stdbool.h>
#include <stdint.h>

#include "world.h"

/* Runs every scenario whose name matches the shell pattern `only` (all
 * when NULL) n_seeds times (>= 1): with seeds seed, seed + 1, ... when
 * seed is nonzero, else from each scenario's own fixed seed on.  Adds to
 * *t; returns the number of failed runs, or -1 when `only` matches no
 * scenario. */
int scenarios_run(const char *only, uint64_t seed, uint64_t n_seeds,
		  bool verbose, struct world_totals *t);

#endif /* SIM_SCENARIOS_H */
