/* methods.h: the client methods of the XML-RPC API (docs/API.md): their
 * parameters, checked; the call handed to the service layer (kv.h) or the
 * node; the answer (or fault, api.h) built when it completes, with no lock
 * held.  Nothing here knows the HTTP server. */
#ifndef RAFTD_METHODS_H
#define RAFTD_METHODS_H

#include <stddef.h>

#include "call.h"
#include "node.h"

/* A method as the server registers it: ctx is what fn is called with. */
struct method_def {
	const char *name;
	call_method_fn fn;
	const void *spec; /* the method's own description (methods.c) */
	const char *help;
};

/* What a client method is called with. */
struct methods_ctx {
	struct node *node;
	const struct method_def *def;
};

extern const struct method_def methods_client[];
extern const size_t methods_client_count;

#endif /* RAFTD_METHODS_H */
