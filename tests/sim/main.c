/* main.c: the simulation test driver: scripted scenarios, then seeded
 * random runs, then random runs with a rogue member, then one summary
 * line.
 *
 *   tests/sim/sim [--scenarios] [--seeds] [--rogue] [--golden]
 *                                                     (all by default)
 *
 * Environment:
 *   SIM_SEEDS=n       random runs (default 500), seeds SIM_SEED_BASE.. (1)
 *   SIM_ROGUE_SEEDS=n random runs with a rogue (default 500), same seeds
 *   SEED=n            replay random run n only (--rogue: with the rogue;
 *                     with SIM_SCENARIO: run the scenarios with seed n)
 *   SIM_SCENARIO=pat  run only the scenarios matching the shell pattern
 *                     (e.g. 'forged-*')
 *   SIM_SCENARIO_SEEDS=n  run each scenario n times, with seeds SEED..
 *                     (or from its fixed seed on); by default once, the
 *                     membership scenarios 100-200 times each
 *   SIM_VERBOSE=1     print every event and the cores' trace text
 *   SIM_GOLDEN_UPDATE=1  --golden writes the golden traces instead of
 *                     comparing with them (a reviewed change only)
 *   SIM_GOLDEN_DIR=d  where the golden traces are (default: the source
 *                     tree's tests/sim/golden)
 *
 * Exit status follows automake's test protocol: 0 pass, 1 fail, 99 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "golden.h"
#include "scenarios.h"
#include "world.h"

static int env_u64(const char *name, uint64_t *out)
{
	const char *s = getenv(name);
	char *end = NULL;

	if (s == NULL || *s == '\0')
		return 0;
	*out = strtoull(s, &end, 10);
	if (end == s || *end != '\0') {
		fprintf(stderr, "sim: %s=%s is not a number\n", name, s);
		return -1;
	}
	return 1;
}

int main(int argc, char **argv)
{
	struct world_totals t;
	bool do_scenarios = false, do_seeds = false, do_rogue = false;
	bool do_golden = false, golden_only;
	const char *golden_dir = getenv("SIM_GOLDEN_DIR");
	const char *update = getenv("SIM_GOLDEN_UPDATE");
	bool verbose = false;
	const char *only = getenv("SIM_SCENARIO");
	uint64_t seed = 0, n_seeds = 500, n_rogue = 500, base = 1, i;
	uint64_t scen_seeds = 0; /* 0: each scenario's own count */
	int have_seed, rv = 99, k;
	unsigned long long failed_scen = 0, failed_seeds = 0, failed_rogue = 0;
	unsigned long long failed_golden = 0;

	memset(&t, 0, sizeof(t));
	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--scenarios") == 0) {
			do_scenarios = true;
		} else if (strcmp(argv[k], "--seeds") == 0) {
			do_seeds = true;
		} else if (strcmp(argv[k], "--rogue") == 0) {
			do_rogue = true;
		} else if (strcmp(argv[k], "--golden") == 0) {
			do_golden = true;
		} else {
			fprintf(stderr,
				"usage: %s [--scenarios] [--seeds] [--rogue] "
				"[--golden]\n",
				argv[0]);
			goto out;
		}
	}
	golden_only = do_golden && !do_scenarios && !do_seeds && !do_rogue;
	if (!do_scenarios && !do_seeds && !do_rogue && !do_golden)
		do_scenarios = do_seeds = do_rogue = do_golden = true;
	if (golden_dir == NULL || *golden_dir == '\0')
		golden_dir = SIM_GOLDEN_DIR;
	verbose = getenv("SIM_VERBOSE") && strcmp(getenv("SIM_VERBOSE"), "0");
	have_seed = env_u64("SEED", &seed);
	if (have_seed < 0 || env_u64("SIM_SEEDS", &n_seeds) < 0 ||
	    env_u64("SIM_ROGUE_SEEDS", &n_rogue) < 0 ||
	    env_u64("SIM_SEED_BASE", &base) < 0 ||
	    env_u64("SIM_SCENARIO_SEEDS", &scen_seeds) < 0)
		goto out;
	if (only && *only == '\0')
		only = NULL;
	/* A replay runs exactly what was asked for: SIM_SCENARIO picks
	 * scenarios, or golden ones with --golden alone. */
	if (only) {
		do_scenarios = !golden_only;
		do_golden = golden_only;
		do_seeds = do_rogue = false;
	} else if (have_seed) {
		do_scenarios = do_golden = false;
		if (!do_rogue)
			do_seeds = true;
		base = seed;
		n_seeds = n_rogue = 1;
	}

	if (do_scenarios) {
		int f = scenarios_run(only, have_seed ? seed : 0, scen_seeds,
				      verbose, &t);
		if (f < 0) {
			fprintf(stderr, "sim: no scenario matches %s\n", only);
			goto out;
		}
		failed_scen = (unsigned long long)f;
	}
	if (do_golden) {
		int f =
		    golden_run(only, golden_dir,
			       update && strcmp(update, "0") != 0, verbose, &t);
		if (f < 0) {
			fprintf(stderr, "sim: no golden scenario matches %s\n",
				only);
			goto out;
		}
		failed_golden = (unsigned long long)f;
	}
	if (do_seeds) {
		for (i = 0; i < n_seeds; i++)
			if (fuzz_run(base + i, false, verbose, &t) != 0)
				failed_seeds++;
		printf("sim: seeds %llu..%llu: %llu failed\n",
		       (unsigned long long)base,
		       (unsigned long long)(base + n_seeds - 1), failed_seeds);
	}
	if (do_rogue) {
		for (i = 0; i < n_rogue; i++)
			if (fuzz_run(base + i, true, verbose, &t) != 0)
				failed_rogue++;
		printf("sim: seeds %llu..%llu with a rogue: %llu failed\n",
		       (unsigned long long)base,
		       (unsigned long long)(base + n_rogue - 1), failed_rogue);
		failed_seeds += failed_rogue;
	}
	printf("sim: %llu messages sent by the cores, %llu forged\n",
	       (unsigned long long)t.msgs, (unsigned long long)t.injected);
	printf(
	    "sim: %llu snapshots taken, %llu compactions, %llu snapshot "
	    "transfers (%llu failures noticed), %llu installed, %llu "
	    "restarts past their log\n",
	    (unsigned long long)t.snapshots, (unsigned long long)t.compactions,
	    (unsigned long long)t.snap_transfers,
	    (unsigned long long)t.snap_notices, (unsigned long long)t.installs,
	    (unsigned long long)t.snap_resets);
	printf("sim: membership: %llu changes proposed, %llu committed, %llu "
	       "learners promoted, %llu transfers (%llu won by their "
	       "target), %llu calls refused busy\n",
	       (unsigned long long)t.conf_proposed,
	       (unsigned long long)t.conf_committed,
	       (unsigned long long)t.promotions,
	       (unsigned long long)t.transfers,
	       (unsigned long long)t.transfers_won, (unsigned long long)t.busy);
	failed_scen += failed_golden;
	printf("sim: %llu scenarios, %llu seeds, %llu steps, %llu invariant "
	       "checks, %llu failures\n",
	       (unsigned long long)t.scenarios, (unsigned long long)t.seeds,
	       (unsigned long long)t.steps, (unsigned long long)t.checks,
	       failed_scen + failed_seeds);
	printf("%llu passed, %llu failed\n",
	       (unsigned long long)(t.scenarios + t.seeds) - failed_scen -
		   failed_seeds,
	       failed_scen + failed_seeds);
	rv = failed_scen + failed_seeds == 0 ? 0 : 1;
out:
	return rv;
}
