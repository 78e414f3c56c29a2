/* golden.h: golden-trace runs: deterministic scenarios whose whole trace
 * is compared with a committed file (tests/sim/golden/, README.md). */
#ifndef SIM_GOLDEN_H
#define SIM_GOLDEN_H

#include <stdbool.h>

#include "world.h"

/* Runs every golden scenario whose name matches the shell pattern `only`
 * (all when NULL) and compares its trace with dir/NAME.txt; with `update`
 * writes the file instead.  `verbose` also prints each trace.  Adds to
 * *t; returns the number of failed runs, or -1 when `only` matches none. */
int golden_run(const char *only, const char *dir, bool update, bool verbose,
	       struct world_totals *t);

#endif /* SIM_GOLDEN_H */
