/* console.c: raftd's web console (console.h): serves the page's files and
 * applies the browser rules of the client listener.
 *
 * The page, loaded from node A, calls every member's /RPC2 itself: status
 * of each node, reads and writes at the leader.  Those calls are
 * cross-origin (another host or port), so the browser asks first
 * (OPTIONS, a CORS preflight) and reads an answer only if it names the
 * page's origin.  A node answers that for the members' origins alone
 * ("http://ADDRESS", or https with TLS, ADDRESS from the config file and
 * the configuration entries), never "*".  And since a page of any other
 * site can still send a plain POST without asking (a "simple" request,
 * the CSRF attack), every request that carries an Origin header -- every
 * browser's POST does -- is refused unless that origin is a member's.
 * Clients that are not browsers (raftctl, xmlrpc.client) send no Origin
 * and are unaffected.  No call is forwarded between nodes: nothing here
 * takes the node's lock or waits. */
#include "console.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "api.h"
#include "xalloc.h"

/* Origins held: the config file's nodes and the configuration's. */
#define CONSOLE_MAX_ORIGINS (2 * CONFIG_MAX_NODES)
/* The longest Origin header considered ("https://" + an address). */
#define CONSOLE_ORIGIN_MAX (ADDR_MAX + 16)
/* How long a browser may keep a preflight's answer (seconds). */
#define CONSOLE_PREFLIGHT_MAX_AGE "600"

struct console_origin {
	char host[ADDR_HOST_MAX]; /* canonical (addr_parse) */
	uint16_t port;
};

struct console {
	const struct config *cfg;
	const struct config_node *self;
	pthread_mutex_t lock; /* a leaf lock: guards the origins */
	struct console_origin origins[CONSOLE_MAX_ORIGINS];
	size_t n_origins, n_boot;
};

static const char *const console_read_methods[] = {
    "isLeader", "getEntries", "get",	 "list",
    "multiGet", "status",     "showLog", "members",
};

bool console_method_reads(const char *name)
{
	for (size_t i = 0;
	     i < sizeof(console_read_methods) / sizeof(console_read_methods[0]);
	     i++)
		if (strcmp(name, console_read_methods[i]) == 0)
			return true;
	return false;
}

void console_refuse(struct call *c, xmlrpc_value *params, void *ctx)
{
	(void)params;
	call_fault(c, API_FAULT_UNAUTHORIZED,
		   "%s: refused: the web console is read-only (console = "
		   "\"readonly\"); use raftctl",
		   (const char *)ctx);
}

/* Adds host:port to the list unless it is there; co->lock held. */
static void do_add_origin(struct console *co, const char *host, uint16_t port)
{
	struct console_origin *o;

	for (size_t i = 0; i < co->n_origins; i++)
		if (co->origins[i].port == port &&
		    strcasecmp(co->origins[i].host, host) == 0)
			return;
	if (co->n_origins == CONSOLE_MAX_ORIGINS)
		return;
	o = &co->origins[co->n_origins++];
	snprintf(o->host, sizeof(o->host), "%s", host);
	o->port = port;
}

struct console *console_new(const struct config *cfg,
			    const struct config_node *self)
{
	struct console *co = xcalloc(1, sizeof(*co));

	co->cfg = cfg;
	co->self = self;
	pthread_mutex_init(&co->lock, NULL);
	for (size_t i = 0; i < cfg->n_nodes; i++)
		do_add_origin(co, cfg->nodes[i].host, cfg->nodes[i].port);
	co->n_boot = co->n_origins;
	return co;
}

void console_free(struct console *co)
{
	if (co == NULL)
		return;
	pthread_mutex_destroy(&co->lock);
	free(co);
}

void console_set_conf(struct console *co, const struct raft_conf *c)
{
	pthread_mutex_lock(&co->lock);
	co->n_origins = co->n_boot;
	for (uint32_t i = 0; i < c->n; i++) {
		char host[ADDR_HOST_MAX], why[128];
		uint16_t port;

		/* "" for the config file's own nodes: already there. */
		if (c->m[i].address[0] == '\0' ||
		    addr_parse(c->m[i].address, host, sizeof(host), &port, why,
			       sizeof(why)) != 0)
			continue;
		do_add_origin(co, host, port);
	}
	pthread_mutex_unlock(&co->lock);
}

/* Whether `origin` (an Origin header: "scheme://host[:port]", as browsers
 * serialize it: no path, no user, the scheme's default port left out) is
 * a member's, with this node's scheme. */
static bool origin_allowed(struct console *co, const char *origin)
{
	const char *scheme = co->cfg->tls ? "https://" : "http://";
	char hostport[CONSOLE_ORIGIN_MAX], host[ADDR_HOST_MAX], why[128];
	const char *rest;
	uint16_t port;
	bool ok = false;
	size_t n;

	if (origin == NULL || strlen(origin) >= CONSOLE_ORIGIN_MAX ||
	    strncmp(origin, scheme, strlen(scheme)) != 0)
		return false;
	rest = origin + strlen(scheme);
	n = strlen(rest);
	if (n == 0 || strpbrk(rest, "/?#@ \t") != NULL)
		return false;
	/* A default port is left out of the origin: put it back. */
	if (rest[n - 1] == ']' || strchr(rest, ':') == NULL)
		snprintf(hostport, sizeof(hostport), "%s:%s", rest,
			 co->cfg->tls ? "443" : "80");
	else
		snprintf(hostport, sizeof(hostport), "%s", rest);
	if (addr_parse(hostport, host, sizeof(host), &port, why, sizeof(why)) !=
	    0)
		return false;
	pthread_mutex_lock(&co->lock);
	for (size_t i = 0; i < co->n_origins && !ok; i++)
		ok = co->origins[i].port == port &&
		     strcasecmp(co->origins[i].host, host) == 0;
	pthread_mutex_unlock(&co->lock);
	return ok;
}

static enum MHD_Result answer_text(struct console *co,
				   struct MHD_Connection *mc, unsigned status,
				   const char *text);

static const char *request_origin(struct MHD_Connection *mc)
{
	return MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Origin");
}

/* Whether a Host header ("host", "host:port", "[v6]" or "[v6]:port")
 * names this cluster: an IP address, localhost, or a member's host. */
static bool host_allowed(struct console *co, const char *hdr)
{
	char host[ADDR_HOST_MAX];
	unsigned char buf[sizeof(struct in6_addr)];
	const char *end;
	size_t n;
	bool ok = false;

	if (hdr == NULL)
		return true; /* HTTP/1.0: nothing to check */
	if (hdr[0] == '[') {
		end = strchr(hdr, ']');
		if (end == NULL)
			return false;
		n = (size_t)(end - hdr - 1);
		if (n == 0 || n >= sizeof(host))
			return false;
		memcpy(host, hdr + 1, n);
		host[n] = '\0';
		return inet_pton(AF_INET6, host, buf) == 1;
	}
	end = strchr(hdr, ':');
	n = end ? (size_t)(end - hdr) : strlen(hdr);
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, hdr, n);
	host[n] = '\0';
	if (host[n - 1] == '.') /* "name." is the same name */
		host[n - 1] = '\0';
	if (inet_pton(AF_INET, host, buf) == 1 ||
	    strcasecmp(host, "localhost") == 0)
		return true;
	pthread_mutex_lock(&co->lock);
	for (size_t i = 0; i < co->n_origins && !ok; i++)
		ok = strcasecmp(co->origins[i].host, host) == 0;
	pthread_mutex_unlock(&co->lock);
	return ok;
}

bool console_host_refused(struct console *co, struct MHD_Connection *mc,
			  enum MHD_Result *rv)
{
	const char *site =
	    MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Sec-Fetch-Site");

	if (site == NULL && request_origin(mc) == NULL)
		return false;
	if (host_allowed(
		co, MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Host")))
		return false;
	*rv = answer_text(co, mc, MHD_HTTP_FORBIDDEN,
			  "forbidden: a browser must name this node by a "
			  "member's address (Host)\n");
	return true;
}

void console_cors(struct console *co, struct MHD_Connection *mc,
		  struct MHD_Response *r)
{
	const char *origin;

	if (co == NULL || co->cfg->console == CONFIG_CONSOLE_OFF)
		return;
	origin = request_origin(mc);
	if (origin == NULL)
		return;
	/* The answer depends on the Origin: caches must know. */
	MHD_add_response_header(r, "Vary", "Origin");
	if (origin_allowed(co, origin))
		MHD_add_response_header(r, "Access-Control-Allow-Origin",
					origin);
}

static enum MHD_Result answer_text(struct console *co,
				   struct MHD_Connection *mc, unsigned status,
				   const char *text)
{
	struct MHD_Response *r;
	enum MHD_Result rv;

	r = MHD_create_response_from_buffer(strlen(text), (void *)text,
					    MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain");
	console_cors(co, mc, r);
	rv = MHD_queue_response(mc, status, r);
	MHD_destroy_response(r);
	return rv;
}

bool console_refuses(struct console *co, struct MHD_Connection *mc,
		     bool *read_only, enum MHD_Result *rv)
{
	const char *origin = request_origin(mc);

	*read_only = false;
	if (origin == NULL)
		return false;
	if (co == NULL || co->cfg->console == CONFIG_CONSOLE_OFF) {
		*rv = answer_text(NULL, mc, MHD_HTTP_FORBIDDEN,
				  "requests from web pages are refused here\n");
		return true;
	}
	if (!origin_allowed(co, origin)) {
		*rv = answer_text(co, mc, MHD_HTTP_FORBIDDEN,
				  "origin refused: only the cluster members' "
				  "own consoles may call /RPC2 from a web "
				  "page\n");
		return true;
	}
	*read_only = co->cfg->console == CONFIG_CONSOLE_READONLY;
	return false;
}

/* Whether every header of a preflight's Access-Control-Request-Headers
 * (a comma-separated list) is Content-Type. */
static bool headers_ok(const char *list)
{
	char buf[256], *save = NULL, *tok;

	if (list == NULL)
		return true;
	if (strlen(list) >= sizeof(buf))
		return false;
	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		size_t n;

		tok += strspn(tok, " \t");
		n = strlen(tok);
		while (n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '\t'))
			tok[--n] = '\0';
		if (n > 0 && strcasecmp(tok, "content-type") != 0)
			return false;
	}
	return true;
}

enum MHD_Result console_preflight(struct console *co, struct MHD_Connection *mc)
{
	const char *origin = request_origin(mc);
	const char *want = MHD_lookup_connection_value(
	    mc, MHD_HEADER_KIND, "Access-Control-Request-Method");
	const char *hdrs = MHD_lookup_connection_value(
	    mc, MHD_HEADER_KIND, "Access-Control-Request-Headers");
	struct MHD_Response *r;
	enum MHD_Result rv;

	if (co->cfg->console == CONFIG_CONSOLE_OFF || origin == NULL ||
	    !origin_allowed(co, origin) || want == NULL ||
	    strcmp(want, "POST") != 0 || !headers_ok(hdrs))
		return answer_text(NULL, mc, MHD_HTTP_FORBIDDEN,
				   "preflight refused\n");
	r = MHD_create_response_from_buffer(0, (void *)"",
					    MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
	MHD_add_response_header(r, "Access-Control-Allow-Methods", "POST");
	MHD_add_response_header(r, "Access-Control-Allow-Headers",
				"Content-Type");
	MHD_add_response_header(r, "Access-Control-Max-Age",
				CONSOLE_PREFLIGHT_MAX_AGE);
	MHD_add_response_header(r, "Vary", "Origin");
	rv = MHD_queue_response(mc, MHD_HTTP_NO_CONTENT, r);
	MHD_destroy_response(r);
	return rv;
}

/* The page's Content-Security-Policy: its own files only, no inline
 * script, calls to the members' origins only, never inside a frame (a
 * page that framed the console could trick clicks on its buttons). */
static void csp(struct console *co, char *out, size_t outlen)
{
	const char *scheme = co->cfg->tls ? "https://" : "http://";
	size_t len;
	bool v6 = false;

	len = (size_t)snprintf(out, outlen,
			       "default-src 'self'; img-src 'self' data:; "
			       "frame-ancestors 'none'; base-uri 'none'; "
			       "form-action 'none'; connect-src 'self'");
	pthread_mutex_lock(&co->lock);
	for (size_t i = 0; i < co->n_origins && len < outlen; i++) {
		char a[ADDR_MAX];

		if (strchr(co->origins[i].host, ':') != NULL)
			v6 = true; /* CSP has no syntax for IPv6 hosts */
		addr_format(co->origins[i].host, co->origins[i].port, a,
			    sizeof(a));
		len += (size_t)snprintf(out + len, outlen - len, " %s%s",
					scheme, a);
	}
	pthread_mutex_unlock(&co->lock);
	if (v6 || len >= outlen)
		snprintf(out, outlen,
			 "default-src 'self'; img-src 'self' data:; "
			 "frame-ancestors 'none'; base-uri 'none'; "
			 "form-action 'none'; connect-src 'self' %s",
			 co->cfg->tls ? "https:" : "http: https:");
}

bool console_get(struct console *co, struct MHD_Connection *mc, const char *url,
		 enum MHD_Result *rv)
{
	const struct console_asset *a = NULL;
	struct MHD_Response *r;
	char info[CONFIG_ADDRESS_MAX + 128],
	    policy[CONSOLE_MAX_ORIGINS * (ADDR_MAX + 12) + 256];

	if (co->cfg->console == CONFIG_CONSOLE_OFF)
		return false;
	for (size_t i = 0; i < console_assets_count && a == NULL; i++)
		if (strcmp(url, console_assets[i].path) == 0)
			a = &console_assets[i];
	if (a != NULL) {
		r = MHD_create_response_from_buffer(a->len, (void *)a->data,
						    MHD_RESPMEM_PERSISTENT);
	} else if (strcmp(url, "/console.json") == 0) {
		/* An address is [A-Za-z0-9.:[]-] only: nothing to escape. */
		snprintf(info, sizeof(info),
			 "{\"id\": %u, \"address\": \"%s\", \"mode\": "
			 "\"%s\", \"tls\": %s}\n",
			 (unsigned)co->self->id, co->self->address,
			 co->cfg->console == CONFIG_CONSOLE_READONLY
			     ? "readonly"
			     : "on",
			 co->cfg->tls ? "true" : "false");
		r = MHD_create_response_from_buffer(strlen(info), info,
						    MHD_RESPMEM_MUST_COPY);
	} else {
		return false;
	}
	if (r == NULL) {
		*rv = MHD_NO;
		return true;
	}
	MHD_add_response_header(r, "Content-Type",
				a ? a->type : "application/json");
	csp(co, policy, sizeof(policy));
	MHD_add_response_header(r, "Content-Security-Policy", policy);
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Cache-Control", "no-cache");
	*rv = MHD_queue_response(mc, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return true;
}
