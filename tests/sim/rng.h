/* rng.h: the simulation's own seeded PRNG (splitmix64), so every run is a
 * pure function of its seed and never depends on rand() or the platform. */
#ifndef SIM_RNG_H
#define SIM_RNG_H

#include <stdbool.h>
#include <stdint.h>

struct rng {
	uint64_t s;
};

static inline void rng_seed(struct rng *g, uint64_t seed) { g->s = seed; }

/* splitmix64 (Steele, Lea, Flood 2014): full period, good enough mixing
 * for choosing delays and faults. */
static inline uint64_t rng_next(struct rng *g)
{
	uint64_t z = (g->s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); n must be > 0.  The modulo bias is irrelevant here. */
static inline uint64_t rng_below(struct rng *g, uint64_t n)
{
	return rng_next(g) % n;
}

/* Uniform in [lo, hi]. */
static inline uint64_t rng_range(struct rng *g, uint64_t lo, uint64_t hi)
{
	if (hi <= lo)
		return lo;
	return lo + rng_below(g, hi - lo + 1);
}

/* True with probability ppm / 1e6.  Probabilities are integers so that a
 * seed replays identically whatever the floating-point environment. */
static inline bool rng_ppm(struct rng *g, uint32_t ppm)
{
	return ppm > 0 && rng_below(g, 1000000) < ppm;
}

/* The splitmix64 finaliser on its own: a 64-bit mixing function for the
 * harness's entry hashes. */
static inline uint64_t rng_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

#endif /* SIM_RNG_H */
