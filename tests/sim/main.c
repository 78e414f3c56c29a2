/* main.c: the simulation test driver: scripted scenarios, then seeded
 * random runs, then one summary line.
 *
 *   tests/sim/sim [--scenarios] [--seeds]   (both by default)
 *
 * Environment:
 *   SIM_SEEDS=n       random runs (default 500), seeds SIM_SEED_BASE.. (1)
 *   SEED=n            replay random run n only (with SIM_SCENARIO: run that
 *                     scenario with seed n)
 *   SIM_SCENARIO=name run only that scenario
 *   SIM_VERBOSE=1     print every event and the cores' trace text
 *
 * Exit status follows automake's test protocol: 0 pass, 1 fail, 99 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
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
	bool do_scenarios = false, do_seeds = false, verbose = false;
	const char *only = getenv("SIM_SCENARIO");
	uint64_t seed = 0, n_seeds = 500, base = 1, i;
	int have_seed, rv = 99, k;
	unsigned long long failed_scen = 0, failed_seeds = 0;

	memset(&t, 0, sizeof(t));
	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--scenarios") == 0) {
			do_scenarios = true;
		} else if (strcmp(argv[k], "--seeds") == 0) {
			do_seeds = true;
		} else {
			fprintf(stderr, "usage: %s [--scenarios] [--seeds]\n",
				argv[0]);
			goto out;
		}
	}
	if (!do_scenarios && !do_seeds)
		do_scenarios = do_seeds = true;
	verbose = getenv("SIM_VERBOSE") && strcmp(getenv("SIM_VERBOSE"), "0");
	have_seed = env_u64("SEED", &seed);
	if (have_seed < 0 || env_u64("SIM_SEEDS", &n_seeds) < 0 ||
	    env_u64("SIM_SEED_BASE", &base) < 0)
		goto out;
	if (only && *only == '\0')
		only = NULL;
	/* A replay runs exactly what was asked for. */
	if (only) {
		do_scenarios = true;
		do_seeds = false;
	} else if (have_seed) {
		do_scenarios = false;
		do_seeds = true;
		base = seed;
		n_seeds = 1;
	}

	if (do_scenarios) {
		int f = scenarios_run(only, have_seed ? seed : 0, verbose, &t);
		if (f < 0) {
			fprintf(stderr, "sim: no scenario named %s\n", only);
			goto out;
		}
		failed_scen = (unsigned long long)f;
	}
	if (do_seeds) {
		for (i = 0; i < n_seeds; i++)
			if (fuzz_run(base + i, verbose, &t) != 0)
				failed_seeds++;
		printf("sim: seeds %llu..%llu: %llu failed\n",
		       (unsigned long long)base,
		       (unsigned long long)(base + n_seeds - 1), failed_seeds);
	}
	printf("sim: %llu messages sent by the cores\n",
	       (unsigned long long)t.msgs);
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
