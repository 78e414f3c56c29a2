/* server.h: raftd's HTTP servers (libmicrohttpd): the client listener
 * (/RPC2 with the client methods, /health, /metrics) and the peer listener
 * (/RPC2 with requestVote and appendEntries). */
#ifndef RAFTD_SERVER_H
#define RAFTD_SERVER_H

#include <stddef.h>

#include "config.h"
#include "node.h"

struct server;

/* Binds self's address and peer address (only those addresses), so that a
 * port in use is found before the node touches its data dir.  Returns 0,
 * or -1 with a message in err. */
int server_create(const struct config *cfg, const struct config_node *self,
		  struct server **out, char *err, size_t errlen);
/* Registers every method for `node` and starts the listeners' threads. */
int server_start(struct server *s, struct node *node, char *err, size_t errlen);
/* Blocks the calling thread until server_terminate(). */
void server_run(struct server *s);
/* From any thread: makes server_run() return. */
void server_terminate(struct server *s);
/* Stops accepting, waits (bounded) for the parked calls to be answered,
 * stops the listeners' threads and frees everything.  Accepts NULL. */
void server_free(struct server *s);

#endif /* RAFTD_SERVER_H */
