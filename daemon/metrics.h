/* metrics.h: GET /health and GET /metrics on the client listener
 * (docs/API.md, "Health and metrics").
 *
 * /health answers 200 with a small JSON object when this node can serve:
 * it knows a leader of its term (or is it), and its state machine has
 * applied to within METRICS_HEALTH_MAX_LAG entries of its commit index;
 * 503 with the same object otherwise.
 *
 * /metrics is the Prometheus text format (version 0.0.4): the node's role,
 * term, indexes, elections, per-peer replication as leader, fsync and
 * request latency histograms, bytes and connections. */
#ifndef RAFTD_METRICS_H
#define RAFTD_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "hist.h"
#include "node.h"

#define METRICS_HEALTH_MAX_LAG 1000u
#define METRICS_MAX_METHODS 32

/* What the HTTP server counts (server.c updates it; any thread). */
struct metrics_server {
	_Atomic uint64_t bytes_in, bytes_out;
	_Atomic uint64_t requests;
	_Atomic uint64_t refused; /* bodies over the limit, guarded bodies */
	unsigned connections;	  /* filled in when rendering */
	unsigned peer_connections;
	size_t n_methods;
	const char *method_names[METRICS_MAX_METHODS];
	_Atomic uint64_t hist[METRICS_MAX_METHODS][HIST_BUCKETS];
	_Atomic uint64_t hist_sum_ns[METRICS_MAX_METHODS];
};

/* Records one answered call of method `i` that took `ns`. */
void metrics_observe(struct metrics_server *ms, size_t i, uint64_t ns);

/* The health document into *text (malloc'd, *len bytes); true when
 * healthy. */
bool metrics_health(struct node *n, char **text, size_t *len);

/* The metrics document into *text (malloc'd, *len bytes). */
void metrics_render(struct node *n, const struct metrics_server *ms,
		    char **text, size_t *len);

#endif /* RAFTD_METRICS_H */
