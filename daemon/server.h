/* server.h: raftd's XML-RPC server (docs/API.md) on Abyss. */
#ifndef RAFTD_SERVER_H
#define RAFTD_SERVER_H

#include <stddef.h>

#include "config.h"
#include "node.h"

struct server;

/* Registers every method and binds self's address (only that address).
 * Returns 0, or -1 with a message in err. */
int server_create(const struct config *cfg, const struct config_node *self,
		  struct node *node, struct server **out, char *err,
		  size_t errlen);
/* Serves until server_terminate(); blocks the calling thread. */
void server_run(struct server *s);
/* From any thread, including a signal-waiting one: stops server_run()
 * (in-flight calls complete; Abyss polls every 2 s). */
void server_terminate(struct server *s);
void server_free(struct server *s);

#endif /* RAFTD_SERVER_H */
