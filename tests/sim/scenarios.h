/* scenarios.h: the scripted simulation scenarios (elections, partitions,
 * the paper's Figure 8, crashes, reads, batching). */
#ifndef SIM_SCENARIOS_H
#define SIM_SCENARIOS_H

#include <stdbool.h>
#include <stdint.h>

#include "world.h"

/* Runs every scenario whose name equals `only` (all when NULL), each with
 * its fixed seed, or `seed` when nonzero.  Adds to *t; returns the number
 * of failed scenarios, or -1 when `only` names no scenario. */
int scenarios_run(const char *only, uint64_t seed, bool verbose,
		  struct world_totals *t);

#endif /* SIM_SCENARIOS_H */
