/* console.h: raftd's web console (docs/CONSOLE.md): the page's files,
 * compiled into the binary, and the rules for browsers on the client
 * listener: only the cluster members' own origins may call /RPC2 from a
 * page (CORS, answered to those origins only), and `console =
 * "readonly"` leaves such calls the read methods alone.
 *
 * Locking: the console's list of origins has a leaf lock of its own;
 * console_set_conf() is called with the node's lock held and only copies
 * strings (no name lookups).  Everything else runs on MHD's threads. */
#ifndef RAFTD_CONSOLE_H
#define RAFTD_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>
#include <xmlrpc-c/base.h>

#include "call.h"
#include "config.h"
#include "core/raft.h"

/* One file of the page (console/ in the source tree), generated into
 * console_assets.c at build time by console/embed.sh. */
struct console_asset {
	const char *path; /* the URL path that serves it: "/", "/console.js" */
	const char *type; /* its Content-Type */
	const unsigned char *data;
	size_t len;
};
extern const struct console_asset console_assets[];
extern const size_t console_assets_count;

struct console;

/* A console for node `self` of `cfg` (both outlive it).  Never NULL. */
struct console *console_new(const struct config *cfg,
			    const struct config_node *self);
/* Accepts NULL. */
void console_free(struct console *co);

/* The cluster's configuration changed: members added since the config
 * file's list are allowed origins too.  Cheap (the node's lock is held). */
void console_set_conf(struct console *co, const struct raft_conf *c);

/* GET `url`: if it is one of the console's (the page's files, and
 * /console.json: this node's id and the console's mode), queues the
 * answer into *rv and returns true.  With console = "off", returns false
 * (the caller answers 404). */
bool console_get(struct console *co, struct MHD_Connection *mc, const char *url,
		 enum MHD_Result *rv);

/* Before any GET of the client listener: a browser's request (one with
 * Sec-Fetch-Site or Origin) must name the node in its Host header as a
 * member's host, an IP address or "localhost"; otherwise (a page of
 * another site whose name was made to resolve to this node: DNS
 * rebinding) it is refused with 403, queued into *rv, and this returns
 * true.  Other clients (Prometheus, curl) send neither header and are not
 * affected. */
bool console_host_refused(struct console *co, struct MHD_Connection *mc,
			  enum MHD_Result *rv);

/* OPTIONS /RPC2 (a CORS preflight): 204 with the CORS headers for a
 * member's origin asking for POST with at most a Content-Type header,
 * 403 otherwise. */
enum MHD_Result console_preflight(struct console *co,
				  struct MHD_Connection *mc);

/* Before a POST /RPC2 is read: a request with an Origin header comes
 * from a browser; it is refused (403, queued into *rv; returns true)
 * unless `co` is not NULL, the console is not "off" and the origin is a
 * member's.  *read_only tells whether only the read methods may run
 * (console = "readonly" and a browser's request).  The peer listener
 * passes co = NULL: no browser has business there. */
bool console_refuses(struct console *co, struct MHD_Connection *mc,
		     bool *read_only, enum MHD_Result *rv);

/* Adds Access-Control-Allow-Origin (the request's own origin, never "*")
 * and Vary: Origin to `r` when the request comes from an allowed origin.
 * Accepts co = NULL (does nothing). */
void console_cors(struct console *co, struct MHD_Connection *mc,
		  struct MHD_Response *r);

/* Whether a browser may call this client method under console =
 * "readonly" (the reads: status, members, showLog, getEntries, get,
 * list, multiGet, isLeader). */
bool console_method_reads(const char *name);

/* The method registered in the read-only registry for every other
 * method: answers fault 5 (UNAUTHORIZED).  ctx is the method's name. */
void console_refuse(struct call *c, xmlrpc_value *params, void *ctx);

#endif /* RAFTD_CONSOLE_H */
