/* config.h: load and validate a raftd cluster file (libconfig syntax; the
 * file every node and raftctl -c read; docs: etc/raftd.conf). */
#ifndef RAFTD_CONFIG_H
#define RAFTD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* The most nodes a cluster may have (the consensus core's CONFIG_MAX_NODES
 * must be at least this; the daemon checks it at compile time). */
#define CONFIG_MAX_NODES 15

/* Defaults for every optional key (etc/raftd.conf). */
#define CONFIG_DEFAULT_DATA_DIR "data/node-%i"
#define CONFIG_DEFAULT_ELECTION_MIN_MS 150
#define CONFIG_DEFAULT_ELECTION_MAX_MS 300
#define CONFIG_DEFAULT_HEARTBEAT_MS 50
#define CONFIG_DEFAULT_REQUEST_TIMEOUT_MS 5000
#define CONFIG_DEFAULT_MAX_INFLIGHT 2
#define CONFIG_MAX_INFLIGHT 8 /* AppendEntries in flight per peer */
/* A node's peer listener, when its peer_address is not given: the same
 * host, this far above the client port. */
#define CONFIG_PEER_PORT_OFFSET 1000u
#define CONFIG_MAX_HTTP_THREADS 64u
#define CONFIG_DEFAULT_MAX_CONNECTIONS 4096u
#define CONFIG_MAX_CONNECTIONS 65536u
#define CONFIG_DEFAULT_CONNECTION_TIMEOUT_S 10u
#define CONFIG_DEFAULT_SNAPSHOT_ENTRIES 10000u
#define CONFIG_DEFAULT_SNAPSHOT_TRAILING 10000u
#define CONFIG_MAX_SNAPSHOT_ENTRIES 100000000u

/* Limits the loader enforces.  Ids stop at INT32_MAX because they travel as
 * XML-RPC <i4> values (status().id, leader). */
#define CONFIG_MAX_ID INT32_MAX
#define CONFIG_MAX_TIMEOUT_MS 60000	      /* election and heartbeat */
#define CONFIG_MAX_REQUEST_TIMEOUT_MS 3600000 /* one hour */
#define CONFIG_MIN_ELECTION_MS 10
#define CONFIG_MAX_SECRET 256
#define CONFIG_PATH_MAX 4096
#define CONFIG_HOST_MAX ADDR_HOST_MAX
#define CONFIG_ADDRESS_MAX ADDR_MAX

/* The top-level `console` key. */
enum config_console {
	CONFIG_CONSOLE_ON = 0,
	CONFIG_CONSOLE_READONLY,
	CONFIG_CONSOLE_OFF,
};

struct config_node {
	uint32_t id;
	/* Canonical "host:port" ("[v6]:port" for IPv6): what peers dial and
	 * what NOT_LEADER hints and status() report. */
	char address[CONFIG_ADDRESS_MAX];
	/* Host alone, IPv6 without brackets, ready for getaddrinfo(). */
	char host[CONFIG_HOST_MAX];
	uint16_t port;
	/* Where the other nodes reach it (requestVote, appendEntries):
	 * peer_address, or host and port + CONFIG_PEER_PORT_OFFSET. */
	char peer_address[CONFIG_ADDRESS_MAX];
	char peer_host[CONFIG_HOST_MAX];
	uint16_t peer_port;
	int line; /* where the node's { ... } starts in the config file */
};

struct config {
	char path[CONFIG_PATH_MAX]; /* the file as given to config_load() */
	struct config_node nodes[CONFIG_MAX_NODES]; /* in file order */
	size_t n_nodes;
	bool has_secret;
	char secret[CONFIG_MAX_SECRET + 1];
	/* `insecure = true;`: peers run without authentication.  A cluster
	 * of more than one node needs a secret or this (docs/API.md). */
	bool insecure;
	char data_dir[CONFIG_PATH_MAX]; /* template: %i = node id, %% = '%' */
	uint32_t election_min_ms;
	uint32_t election_max_ms;
	uint32_t heartbeat_ms;
	uint32_t request_timeout_ms;
	/* AppendEntries in flight to one peer at once, each on its own
	 * connection (pipelining; etc/raftd.conf, docs/DESIGN.md). */
	uint32_t max_inflight;
	/* The HTTP servers (docs/DESIGN.md, "The edge"): worker threads (0:
	 * one per CPU, at least 2), connections at most, per client address
	 * (0: no limit), and how long a connection may be idle or slow. */
	uint32_t http_threads;
	uint32_t max_connections;
	uint32_t max_connections_per_ip;
	uint32_t connection_timeout_s;
	/* TLS for both listeners and the peers' client (all three set, or
	 * none): this node's certificate and key (PEM; %i = node id), and the
	 * CA every node's certificate is checked against. */
	bool tls;
	char tls_cert[CONFIG_PATH_MAX];
	char tls_key[CONFIG_PATH_MAX];
	char tls_ca[CONFIG_PATH_MAX];
	/* Snapshots (docs/DESIGN.md, "Snapshots"): take one after this many
	 * entries were applied since the last (0: never on its own), and
	 * keep this many entries before it in the log for followers that
	 * are a little behind. */
	uint32_t snapshot_entries;
	uint32_t snapshot_trailing;
	/* The web console on GET / (docs/CONSOLE.md): `console = "on";` (the
	 * default), "readonly" (browsers may only read: the page hides its
	 * write controls and the node refuses writes from a browser) or
	 * "off" (no page, and every request from a browser is refused). */
	enum config_console console;
};

/* Read and validate the config file at `path` into `cfg` (which the caller
 * owns; nothing is allocated).  Returns 0, or -1 with a one-line message in
 * `err` of the form "FILE:LINE: KEY: what is wrong" (":LINE" is left out
 * when libconfig has none, e.g. an unreadable file).  On error `cfg` holds
 * no usable configuration. */
int config_load(const char *path, struct config *cfg, char *err, size_t errlen);

/* The node with this id, or NULL.  The pointer is into `cfg`. */
const struct config_node *config_node_by_id(const struct config *cfg,
					    uint32_t id);
/* A node outside the config's list (a member added later): its address
 * "HOST:PORT" and peer address (NULL or "": port + 1000), checked.  0, or
 * -1 with a message. */
int config_node_make(uint32_t id, const char *address, const char *peer_address,
		     struct config_node *out, char *err, size_t errlen);

/* Find this machine's node from the content of an `address` file (as the
 * testbed's saveip writes it; surrounding whitespace is ignored):
 * "HOST:PORT" (or "[V6]:PORT") matches the node with that host and port;
 * an IP or host alone (IPv6 with or without brackets) matches the one node
 * on that host.  Returns the node (a pointer into `cfg`), or NULL with a
 * message in `err` when the text is malformed or matches no node or
 * several. */
const struct config_node *config_node_by_address(const struct config *cfg,
						 const char *text, char *err,
						 size_t errlen);

/* Expand a per-node path template (tls_cert, tls_key) as data_dir is. */
int config_node_path(const char *tmpl, uint32_t id, char *out, size_t outlen,
		     char *err, size_t errlen);

/* Expand cfg->data_dir for node `id` into `out` ("%i" becomes the id, "%%"
 * a '%').  Returns 0, or -1 with a message in `err` when the result does
 * not fit in `outlen` bytes. */
int config_data_dir(const struct config *cfg, uint32_t id, char *out,
		    size_t outlen, char *err, size_t errlen);

#endif /* RAFTD_CONFIG_H */
