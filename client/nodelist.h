/* nodelist.h: the nodes raftctl talks to (from -s, -c or the environment)
 * and the parsing of NOT_LEADER hints. */
#ifndef RAFTCTL_NODELIST_H
#define RAFTCTL_NODELIST_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define NODELIST_MAX 64 /* more than any sane cluster */
#define NODELIST_ADDR_MAX ADDR_MAX

enum {
	NODELIST_OK = 0,
	NODELIST_EINVAL = -1, /* malformed text (message in err) */
	NODELIST_EFULL = -2,  /* more than NODELIST_MAX nodes */
	NODELIST_ECONFIG = -3 /* the config file did not load */
};

struct nodelist_node {
	/* With -c the node's configured id; with -s its 1-based position in
	 * the list; for a node learnt from a hint, the id the hint gave. */
	uint32_t id;
	char address[NODELIST_ADDR_MAX]; /* "host:port" */
};

struct nodelist {
	size_t n;
	struct nodelist_node nodes[NODELIST_MAX];
	/* The cluster's request_timeout_ms when known from a config file, 0
	 * otherwise: how long a leader may legitimately take to answer a
	 * write before it gives up with fault 2. */
	uint32_t request_timeout_ms;
	/* The CA of a cluster that speaks TLS (config tls_ca), "" for plain
	 * HTTP: then every node is https://, checked against it. */
	char tls_ca[4096];
};

/* Checks that `addr` follows the one address grammar (addr.h).  Returns 0
 * or NODELIST_EINVAL with a message in `err`. */
int nodelist_check_address(const char *addr, char *err, size_t errlen);

/* Fills `out` from a comma-separated "HOST:PORT[,HOST:PORT...]" list; ids
 * are the 1-based positions.  Empty items, bad addresses and duplicates are
 * NODELIST_EINVAL; over NODELIST_MAX is NODELIST_EFULL (message in err). */
int nodelist_parse_servers(const char *spec, struct nodelist *out, char *err,
			   size_t errlen);

/* Fills `out` with the nodes of the raftd config file at `path` (the same
 * file raftd reads), in file order, and its request timeout.  Returns 0 or
 * NODELIST_ECONFIG with config_load()'s message in `err`. */
int nodelist_from_config(const char *path, struct nodelist *out, char *err,
			 size_t errlen);

/* The position of the node with this address, or -1. */
int nodelist_find_address(const struct nodelist *nl, const char *addr);

/* The position of the node with this id, or -1. */
int nodelist_find_id(const struct nodelist *nl, uint32_t id);

/* Returns the position of the node with address `addr`, appending it
 * with `id` when it is not in the list yet (a leader named by a hint that
 * the user did not list).  NODELIST_EFULL or NODELIST_EINVAL (bad address)
 * otherwise. */
int nodelist_add(struct nodelist *nl, uint32_t id, const char *addr,
		 size_t *pos);

/* Parses a NOT_LEADER fault string with api_parse_hint() (api.h):
 *   NODELIST_OK      a leader is named: *id and `addr` are set
 *   1                the leader is unknown
 *   NODELIST_EINVAL  no hint, or a malformed one */
int nodelist_parse_hint(const char *fault, uint32_t *id, char *addr,
			size_t addrlen);

#endif /* RAFTCTL_NODELIST_H */
