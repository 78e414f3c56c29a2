/* health.h: `raftctl health`: GET /health of one node (docs/API.md,
 * "Health and metrics") with libcurl, timed. */
#ifndef RAFTCTL_HEALTH_H
#define RAFTCTL_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct health_result {
	bool healthy;	  /* HTTP 200 with "health": true */
	bool answered;	  /* some HTTP answer came back */
	double took_ms;	  /* from the request to the answer (or the failure) */
	char reason[256]; /* the node's "reason", or why there is no answer */
};

/* Asks each of the `n` nodes addresses[i] (HOST:PORT) for GET /health
 * in parallel, over https verified against `tls_ca` when that is not ""
 * (else http), waiting at most `timeout_ms` in all; fills res[i].  Never
 * fails otherwise: a node that cannot be asked gets the reason. */
void health_check_all(const char *const *addresses, size_t n,
		      const char *tls_ca, uint64_t timeout_ms,
		      struct health_result *res);

/* Sets libcurl up (before health_check_all()); 0 or -1. */
int health_init(void);

#endif /* RAFTCTL_HEALTH_H */
