/* scenarios.h: the scripted simulation scenarios (elections, partitions,
 * the paper's Figure 8, crashes, reads, batching, forged messages). */
#ifndef SIM_SCENARIOS_H
#define SIM_SCENARIOS_H

#include <stdbool.h>
#include <stdint.h>

#include "world.h"

/* Runs every scenario whose name matches the shell pattern `only` (all
 * when NULL) n_seeds times: with seeds seed, seed + 1, ... when seed is
 * nonzero, else from each scenario's own fixed seed on.  n_seeds 0: once
 * with `seed`, or without a seed the scenario's own number of runs (one,
 * or many for the membership scenarios, summed up in one line each).  Adds to
 * *t; returns the number of failed runs, or -1 when `only` matches no
 * scenario. */
int scenarios_run(const char *only, uint64_t seed, uint64_t n_seeds,
		  bool verbose, struct world_totals *t);

#endif /* SIM_SCENARIOS_H */
