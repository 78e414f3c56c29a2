/* hist.h: latency histograms with the buckets /metrics reports (Prometheus
 * style: each bucket counts what is <= its bound; rendered cumulative).
 * The bounds suit a disk sync and an RPC on a LAN: 100 µs to 1 s. */
#ifndef RAFTD_HIST_H
#define RAFTD_HIST_H

#include <stddef.h>
#include <stdint.h>

#define HIST_BUCKETS 14 /* the last one is +Inf */

static const uint64_t hist_bounds_ns[HIST_BUCKETS - 1] = {
    100000,   250000,	500000,	   1000000,   2500000,	 5000000,    10000000,
    25000000, 50000000, 100000000, 250000000, 500000000, 1000000000,
};

/* The bucket a duration falls in. */
static inline size_t hist_bucket(uint64_t ns)
{
	size_t i;

	for (i = 0; i < HIST_BUCKETS - 1; i++)
		if (ns <= hist_bounds_ns[i])
			return i;
	return HIST_BUCKETS - 1;
}

#endif /* RAFTD_HIST_H */
