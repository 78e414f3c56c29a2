/* server.c: raftd's HTTP servers, on libmicrohttpd: one listener for
 * clients (/RPC2 with the client methods, /health, /metrics) and one for
 * the peers (/RPC2 with requestVote and appendEntries), each an epoll
 * event loop over a small pool of threads.  xmlrpc-c stays the XML-RPC
 * codec and dispatcher (its registry parses each call and runs the
 * method); this file moves bytes and parks calls.
 *
 * A call does not hold a thread while it waits.  The method starts the
 * work (a write, a linearizable read) and returns; the connection is
 * suspended (MHD_suspend_connection) until the work completes, on one of
 * the node's threads, which stores the answer (or hands the building of
 * a large one over: call_continue) and resumes the connection; the next
 * run of the access handler, on a pool thread, serializes the answer and
 * queues it.  64 waiting clients are 64 suspended connections, not 64
 * threads.
 *
 * Abuse: a request body is limited while it arrives (413 past
 * API_MAX_BODY, before anything is buffered beyond it); a body with a DTD
 * (the entity-expansion bomb) or in UTF-16/32 is refused before the XML
 * parser sees it; connections idle or slow for connection_timeout_s are
 * closed; the client listener takes max_connections (and per address,
 * max_connections_per_ip); the peer listener is separate, so no client
 * connection can take a peer's place, and accepts only the members'
 * addresses.
 *
 * The web console (console.c): GET / and the page's files; an OPTIONS
 * /RPC2 preflight and any request with an Origin header (a browser's) are
 * answered only for the members' own origins, and under console =
 * "readonly" a browser's call goes to a registry of the read methods. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <xmlrpc-c/base.h>
#include <xmlrpc-c/server.h>

#include "addr.h"
#include "api.h"
#include "call.h"
#include "console.h"
#include "log.h"
#include "methods.h"
#include "metrics.h"
#include "peer_rpc.h"
#include "xalloc.h"

#define SERVER_MAX_METHODS 32
/* Connections the peer listener takes: each member keeps up to
 * max_inflight of its own, and a few spares for restarts. */
#define SERVER_PEER_CONNS_PER_MEMBER (2u * CONFIG_MAX_INFLIGHT + 4u)

enum listener_kind { LISTENER_CLIENT, LISTENER_PEER };

/* What one registered method runs: its function and context, and where
 * its latencies are counted (-1: not counted). */
struct server_method {
	call_method_fn fn;
	void *ctx;
	int metric;
};

struct listener {
	struct server *s;
	enum listener_kind kind;
	struct MHD_Daemon *mhd;
	xmlrpc_registry *registry;
	struct server_method methods[SERVER_MAX_METHODS];
	/* Client listener: what a browser's call may run under console =
	 * "readonly": the read methods, and console_refuse for the others. */
	xmlrpc_registry *registry_ro;
	struct server_method ro_methods[SERVER_MAX_METHODS];
	size_t n_methods;
	/* Peer listener: the members' addresses, the only ones accepted:
	 * the bootstrap configuration's (the first n_boot) and the current
	 * configuration's; any address while this node is not a member yet
	 * (a new member must hear a leader it cannot know of).  Under
	 * members_lock (MHD's threads read them; the node's configuration
	 * hook writes them). */
	pthread_mutex_t members_lock;
	struct sockaddr_storage members[2 * CONFIG_MAX_NODES];
	size_t n_members, n_boot;
	bool accept_any;
	int fd; /* the bound socket, MHD's once started */
	char address[CONFIG_ADDRESS_MAX];
};

struct server {
	struct node *node;
	const struct config *cfg;
	const struct config_node *self;
	struct methods_ctx client_ctx[SERVER_MAX_METHODS];
	struct peer_rpc *peer_rpc;
	struct listener client, peer;
	sem_t stop; /* posted by server_terminate() */
	_Atomic bool terminated;
	/* Calls parked now: MHD must not be stopped with one (server_free
	 * waits for the node's stop to answer them). */
	_Atomic long parked;
	struct metrics_server metrics;
	/* A leaf lock: two GET /metrics at once set metrics.connections and
	 * .peer_connections and render them one after the other. */
	pthread_mutex_t metrics_lock;
	struct console *console;
	/* TLS (cfg->tls): this node's certificate and key, read before any
	 * thread starts; MHD keeps pointers to them. */
	char *tls_cert, *tls_key;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- a call: one XML-RPC request in progress ------------------------------
 */

enum call_state {
	CALL_RUNNING,	/* in the access handler, on a pool thread */
	CALL_SUSPENDED, /* parked: the connection waits for the answer */
	CALL_RESUMING,	/* resumed, the access handler not run yet */
};

struct call {
	struct conn *conn;
	int metric;	    /* the method's latency histogram, -1: none */
	pthread_mutex_t mu; /* a leaf lock: guards everything below */
	enum call_state state;
	bool ran;	  /* the registry reached the method */
	bool by_registry; /* answered in time for the registry to send it */
	bool answered;
	xmlrpc_value *result; /* when answered: the result, or NULL and */
	int code;	      /* the fault */
	char msg[512];
	call_cont_fn cont; /* to run on a pool thread, then */
	void *cont_arg;
};

/* One HTTP request (MHD's con_cls). */
struct conn {
	struct listener *l;
	struct MHD_Connection *mc;
	uint64_t start_ns; /* when the request arrived */
	char *body;
	size_t len, cap;
	bool too_big;
	bool dispatched;
	bool read_only; /* a browser's call under console = "readonly" */
	struct call call;
};

/* Resumes the connection if it is parked; c->mu held. */
static void call_wake(struct call *c)
{
	if (c->state == CALL_SUSPENDED) {
		c->state = CALL_RESUMING;
		atomic_fetch_sub(&c->conn->l->s->parked, 1);
		MHD_resume_connection(c->conn->mc);
	}
}

void call_return(struct call *c, xmlrpc_value *result)
{
	pthread_mutex_lock(&c->mu);
	c->result = result;
	c->answered = true;
	call_wake(c);
	pthread_mutex_unlock(&c->mu);
}

static void call_set_fault(struct call *c, int code, const char *msg)
{
	pthread_mutex_lock(&c->mu);
	c->code = code ? code : API_FAULT_INVALID;
	snprintf(c->msg, sizeof(c->msg), "%s", msg);
	c->answered = true;
	call_wake(c);
	pthread_mutex_unlock(&c->mu);
}

void call_fault(struct call *c, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	call_set_fault(c, code, msg);
}

void call_fault_env(struct call *c, const xmlrpc_env *env)
{
	call_set_fault(c, env->fault_code, env->fault_string);
}

void call_continue(struct call *c, call_cont_fn fn, void *arg)
{
	pthread_mutex_lock(&c->mu);
	c->cont = fn;
	c->cont_arg = arg;
	call_wake(c);
	pthread_mutex_unlock(&c->mu);
}

/* xmlrpc_method2 for every method: callInfo is our call.  The method
 * answers now or later; if later, the registry's answer (a placeholder)
 * is thrown away and the connection parked (answer_or_park). */
static xmlrpc_value *run_method(xmlrpc_env *env, xmlrpc_value *params,
				void *info, void *call_info)
{
	const struct server_method *m = info;
	struct call *c = call_info;
	xmlrpc_value *out = NULL;

	c->metric = m->metric;
	m->fn(c, params, m->ctx);
	pthread_mutex_lock(&c->mu);
	c->ran = true;
	c->by_registry = c->answered;
	if (c->answered && c->result != NULL) {
		out = c->result;
		c->result = NULL;
	} else if (c->answered) {
		xmlrpc_env_set_fault(env, c->code, c->msg);
	} else {
		out = xmlrpc_nil_new(env); /* a placeholder, never sent */
	}
	pthread_mutex_unlock(&c->mu);
	return out;
}

/* ---- responses
 * --------------------------------------------------------------- */

static void free_cb(void *p) { xmlrpc_mem_block_free(p); }

static _Atomic uint64_t *bytes_out_counter; /* the server's, set once */
/* The server's console, set once: its CORS headers go on every answer. */
static struct console *cors_console;

/* Queues an XML-RPC answer (the memory block is handed to MHD). */
static enum MHD_Result queue_xml(struct MHD_Connection *mc,
				 xmlrpc_mem_block *out)
{
	struct MHD_Response *r;
	enum MHD_Result rv;

	if (bytes_out_counter != NULL)
		atomic_fetch_add(bytes_out_counter,
				 XMLRPC_MEMBLOCK_SIZE(char, out));
	r = MHD_create_response_from_buffer_with_free_callback_cls(
	    XMLRPC_MEMBLOCK_SIZE(char, out),
	    XMLRPC_MEMBLOCK_CONTENTS(char, out), free_cb, out);
	if (r == NULL) {
		xmlrpc_mem_block_free(out);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/xml");
	console_cors(cors_console, mc, r);
	rv = MHD_queue_response(mc, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return rv;
}

static enum MHD_Result queue_text(struct MHD_Connection *mc, unsigned status,
				  const char *type, const char *text,
				  size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result rv;

	r = MHD_create_response_from_buffer(len, (void *)text,
					    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	console_cors(cors_console, mc, r);
	rv = MHD_queue_response(mc, status, r);
	MHD_destroy_response(r);
	return rv;
}

static enum MHD_Result queue_fault(struct MHD_Connection *mc, int code,
				   const char *msg)
{
	xmlrpc_env env, fenv;
	xmlrpc_mem_block *out;

	xmlrpc_env_init(&env);
	xmlrpc_env_init(&fenv);
	xmlrpc_env_set_fault(&fenv, code, msg);
	out = XMLRPC_MEMBLOCK_NEW(char, &env, 0);
	if (!env.fault_occurred)
		xmlrpc_serialize_fault(&env, out, &fenv);
	xmlrpc_env_clean(&fenv);
	if (env.fault_occurred) {
		xmlrpc_env_clean(&env);
		if (out)
			xmlrpc_mem_block_free(out);
		return MHD_NO;
	}
	xmlrpc_env_clean(&env);
	return queue_xml(mc, out);
}

/* The answer of a call that was parked: serialized here, on a pool
 * thread. */
static enum MHD_Result queue_answer(struct conn *cn)
{
	struct call *c = &cn->call;
	xmlrpc_env env;
	xmlrpc_mem_block *out;

	if (c->result == NULL)
		return queue_fault(cn->mc, c->code, c->msg);
	xmlrpc_env_init(&env);
	out = XMLRPC_MEMBLOCK_NEW(char, &env, 0);
	if (!env.fault_occurred)
		xmlrpc_serialize_response(&env, out, c->result);
	xmlrpc_DECREF(c->result);
	c->result = NULL;
	if (env.fault_occurred) {
		if (out)
			xmlrpc_mem_block_free(out);
		xmlrpc_env_clean(&env);
		return queue_fault(cn->mc, API_FAULT_UNAVAILABLE,
				   "cannot serialize the answer");
	}
	xmlrpc_env_clean(&env);
	return queue_xml(cn->mc, out);
}

/* After the method ran (or a continuation did): send the answer if there
 * is one, else park the connection until there is. */
static enum MHD_Result answer_or_park(struct conn *cn)
{
	struct call *c = &cn->call;
	enum MHD_Result rv = MHD_YES;

	for (;;) {
		call_cont_fn fn;
		void *arg;

		pthread_mutex_lock(&c->mu);
		if (c->answered) {
			pthread_mutex_unlock(&c->mu);
			return queue_answer(cn);
		}
		if (c->cont == NULL) {
			/* Parked under the call's lock: a completion that
			 * comes right after finds SUSPENDED and resumes. */
			c->state = CALL_SUSPENDED;
			atomic_fetch_add(&cn->l->s->parked, 1);
			MHD_suspend_connection(cn->mc);
			pthread_mutex_unlock(&c->mu);
			return rv;
		}
		fn = c->cont;
		arg = c->cont_arg;
		c->cont = NULL;
		pthread_mutex_unlock(&c->mu);
		fn(c, arg);
	}
}

/* ---- requests
 * ------------------------------------------------------------------ */

/* A DTD has no place in XML-RPC and expat would expand its entities (the
 * billion-laughs attack); clients escape '<' in strings, so "<!" never
 * occurs in a legitimate body.  A UTF-16/32 body (a byte-order mark, or
 * NUL bytes) could hide it from this byte search: only ASCII-compatible
 * encodings pass (docs/XMLRPC-C.md §3). */
static bool body_acceptable(const char *xml, size_t len)
{
	return memmem(xml, len, "<!", 2) == NULL &&
	       memchr(xml, '\0', len) == NULL &&
	       !(len >= 2 && (((unsigned char)xml[0] == 0xFE &&
			       (unsigned char)xml[1] == 0xFF) ||
			      ((unsigned char)xml[0] == 0xFF &&
			       (unsigned char)xml[1] == 0xFE)));
}

static enum MHD_Result dispatch(struct conn *cn)
{
	struct listener *l = cn->l;
	xmlrpc_env env;
	xmlrpc_mem_block *out = NULL;
	bool registry_answers;

	cn->dispatched = true;
	if (cn->too_big || !body_acceptable(cn->body ? cn->body : "", cn->len))
		atomic_fetch_add(&l->s->metrics.refused, 1);
	if (cn->len == 0)
		return queue_text(cn->mc, MHD_HTTP_BAD_REQUEST, "text/plain",
				  "empty request body\n", 19);
	if (cn->too_big)
		return queue_text(cn->mc, MHD_HTTP_CONTENT_TOO_LARGE,
				  "text/plain", "request body over the limit\n",
				  28);
	if (!body_acceptable(cn->body ? cn->body : "", cn->len))
		return queue_fault(cn->mc, XMLRPC_PARSE_ERROR,
				   "DTDs, entity declarations and UTF-16/32 "
				   "bodies are not accepted");
	xmlrpc_env_init(&env);
	xmlrpc_registry_process_call2(
	    &env, cn->read_only ? l->registry_ro : l->registry,
	    cn->body ? cn->body : "", cn->len, &cn->call, &out);
	free(cn->body);
	cn->body = NULL;
	/* The registry's output is the answer when no method ran (the
	 * call did not parse, or named no method: a fault) or the method
	 * answered before it returned; otherwise it is a placeholder, and
	 * the answer comes later (maybe already: answer_or_park sees it). */
	pthread_mutex_lock(&cn->call.mu);
	registry_answers = !cn->call.ran || cn->call.by_registry;
	pthread_mutex_unlock(&cn->call.mu);
	if (env.fault_occurred || out == NULL) {
		enum MHD_Result rv = queue_fault(
		    cn->mc, env.fault_occurred ? env.fault_code : 0,
		    env.fault_occurred ? env.fault_string : "no answer");
		if (out)
			xmlrpc_mem_block_free(out);
		xmlrpc_env_clean(&env);
		return rv;
	}
	xmlrpc_env_clean(&env);
	if (registry_answers)
		return queue_xml(cn->mc, out);
	xmlrpc_mem_block_free(out); /* the placeholder */
	return answer_or_park(cn);
}

static enum MHD_Result routes_get(struct listener *l, struct MHD_Connection *mc,
				  const char *url)
{
	struct server *s = l->s;
	char *text = NULL;
	size_t len = 0;
	unsigned status;
	enum MHD_Result rv;

	if (strcmp(url, "/RPC2") == 0)
		return queue_text(mc, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
				  "POST only\n", 10);
	if (l->kind != LISTENER_CLIENT)
		return queue_text(mc, MHD_HTTP_NOT_FOUND, "text/plain",
				  "not found\n", 10);
	if (console_host_refused(s->console, mc, &rv))
		return rv;
	if (console_get(s->console, mc, url, &rv))
		return rv;
	if (strcmp(url, "/health") == 0) {
		status = metrics_health(s->node, &text, &len)
			     ? MHD_HTTP_OK
			     : MHD_HTTP_SERVICE_UNAVAILABLE;
		rv = queue_text(mc, status, "application/json", text, len);
	} else if (strcmp(url, "/metrics") == 0) {
		const union MHD_ConnectionInfo *ci;
		const union MHD_DaemonInfo *di = NULL;

		/* The client daemon from the connection: s->client.mhd is
		 * assigned only once MHD_start_daemon() returns, and its
		 * threads may serve a request before that.  The peer
		 * listener starts first, so s->peer.mhd is set by then. */
		ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_DAEMON);
		pthread_mutex_lock(&s->metrics_lock);
		if (ci != NULL)
			di = MHD_get_daemon_info(
			    ci->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		s->metrics.connections = di ? di->num_connections : 0;
		di = MHD_get_daemon_info(s->peer.mhd,
					 MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		s->metrics.peer_connections = di ? di->num_connections : 0;
		metrics_render(s->node, &s->metrics, &text, &len);
		pthread_mutex_unlock(&s->metrics_lock);
		rv = queue_text(mc, MHD_HTTP_OK,
				"text/plain; version=0.0.4; charset=utf-8",
				text, len);
	} else {
		rv = queue_text(mc, MHD_HTTP_NOT_FOUND, "text/plain",
				"not found\n", 10);
	}
	free(text);
	return rv;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *mc,
				      const char *url, const char *method,
				      const char *version,
				      const char *upload_data,
				      size_t *upload_data_size, void **con_cls)
{
	struct listener *l = cls;
	struct conn *cn = *con_cls;

	if (cn == NULL) {
		const char *cl;
		bool read_only;
		enum MHD_Result rv;

		if (strcmp(method, MHD_HTTP_METHOD_GET) == 0)
			return routes_get(l, mc, url);
		if (strcmp(url, "/RPC2") != 0)
			return queue_text(mc, MHD_HTTP_NOT_FOUND, "text/plain",
					  "not found\n", 10);
		if (strcmp(method, MHD_HTTP_METHOD_OPTIONS) == 0 &&
		    l->kind == LISTENER_CLIENT)
			return console_preflight(l->s->console, mc);
		if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
			return queue_text(mc, MHD_HTTP_METHOD_NOT_ALLOWED,
					  "text/plain", "POST only\n", 10);
		/* A browser's request: the members' own pages only. */
		if (console_refuses(l->kind == LISTENER_CLIENT ? l->s->console
							       : NULL,
				    mc, &read_only, &rv))
			return rv;
		/* A body announced over the limit is refused before a byte
		 * of it is read. */
		cl = MHD_lookup_connection_value(
		    mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && strtoull(cl, NULL, 10) > API_MAX_BODY)
			return queue_text(mc, MHD_HTTP_CONTENT_TOO_LARGE,
					  "text/plain",
					  "request body over the limit\n", 28);
		cn = xcalloc(1, sizeof(*cn));
		cn->l = l;
		cn->mc = mc;
		cn->start_ns = mono_ns();
		cn->read_only = read_only;
		cn->call.conn = cn;
		cn->call.metric = -1;
		if (l->kind == LISTENER_CLIENT)
			atomic_fetch_add(&l->s->metrics.requests, 1);
		pthread_mutex_init(&cn->call.mu, NULL);
		*con_cls = cn;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (cn->too_big || cn->len + n > API_MAX_BODY) {
			cn->too_big = true; /* the rest is read and dropped */
			return MHD_YES;
		}
		if (cn->len + n + 1 > cn->cap) {
			cn->cap = cn->cap ? cn->cap : 4096;
			while (cn->cap < cn->len + n + 1)
				cn->cap *= 2;
			cn->body = xrealloc(cn->body, cn->cap);
		}
		memcpy(cn->body + cn->len, upload_data, n);
		cn->len += n;
		atomic_fetch_add(&l->s->metrics.bytes_in, n);
		return MHD_YES;
	}
	if (!cn->dispatched)
		return dispatch(cn);
	/* Resumed: the answer (or a continuation) has come. */
	pthread_mutex_lock(&cn->call.mu);
	cn->call.state = CALL_RUNNING;
	pthread_mutex_unlock(&cn->call.mu);
	return answer_or_park(cn);
}

static void request_completed(void *cls, struct MHD_Connection *mc,
			      void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct conn *cn = *con_cls;
	int i;

	if (cn == NULL)
		return;
	/* A call resumed with a continuation that the access handler never
	 * ran (the server stopped first, or the client went away): run it
	 * now, so that what it owns is released, and drop its answer. */
	for (i = 0; i < 4; i++) {
		call_cont_fn fn;
		void *arg;

		pthread_mutex_lock(&cn->call.mu);
		fn = cn->call.cont;
		arg = cn->call.cont_arg;
		cn->call.cont = NULL;
		pthread_mutex_unlock(&cn->call.mu);
		if (fn == NULL)
			break;
		fn(&cn->call, arg);
	}
	/* From the request's first byte to the answer sent. */
	if (cn->call.metric >= 0 && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		metrics_observe(&cn->l->s->metrics, (size_t)cn->call.metric,
				mono_ns() - cn->start_ns);
	free(cn->body);
	if (cn->call.result != NULL)
		xmlrpc_DECREF(cn->call.result);
	pthread_mutex_destroy(&cn->call.mu);
	free(cn);
	*con_cls = NULL;
}

/* The peer listener accepts only the members' addresses. */
static enum MHD_Result peer_accept(void *cls, const struct sockaddr *addr,
				   socklen_t addrlen)
{
	struct listener *l = cls;
	enum MHD_Result ok = MHD_NO;
	size_t i;

	pthread_mutex_lock(&l->members_lock);
	if (l->accept_any)
		ok = MHD_YES;
	for (i = 0; ok == MHD_NO && i < l->n_members; i++) {
		const struct sockaddr_storage *m = &l->members[i];
		if (m->ss_family != addr->sa_family)
			continue;
		if (addr->sa_family == AF_INET &&
		    memcmp(&((const struct sockaddr_in *)m)->sin_addr,
			   &((const struct sockaddr_in *)addr)->sin_addr,
			   sizeof(struct in_addr)) == 0)
			ok = MHD_YES;
		if (addr->sa_family == AF_INET6 &&
		    memcmp(&((const struct sockaddr_in6 *)m)->sin6_addr,
			   &((const struct sockaddr_in6 *)addr)->sin6_addr,
			   sizeof(struct in6_addr)) == 0)
			ok = MHD_YES;
	}
	pthread_mutex_unlock(&l->members_lock);
	return ok;
}

/* ---- set-up
 * -------------------------------------------------------------------- */

static int resolve_flags(const char *host, uint16_t port, int flags,
			 struct sockaddr_storage *ss, socklen_t *len, char *err,
			 size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	char portstr[8];
	int rv;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = flags;
	snprintf(portstr, sizeof(portstr), "%u", port);
	rv = getaddrinfo(host, portstr, &hints, &res);
	if (rv != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host,
			 gai_strerror(rv));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int resolve(const char *host, uint16_t port, struct sockaddr_storage *ss,
		   socklen_t *len, char *err, size_t errlen)
{
	return resolve_flags(host, port, 0, ss, len, err, errlen);
}

/* An IP address, never a name lookup (callers hold locks). */
static int resolve_numeric(const char *host, uint16_t port,
			   struct sockaddr_storage *ss, socklen_t *len,
			   char *err, size_t errlen)
{
	return resolve_flags(host, port, AI_NUMERICHOST, ss, len, err, errlen);
}

/* The registries' preinvoke hook: xmlrpc-c's built-in system.multicall
 * (which no switch turns off) would run several methods on one request's
 * struct call, which holds one answer and parks for one operation: a
 * method that waits (a write, a linearizable read) and the next one would
 * answer each other's results, or the request twice.  Refused before any
 * method runs: one call per request. */
static void refuse_multicall(xmlrpc_env *env, const char *name,
			     xmlrpc_value *params, void *arg)
{
	(void)params;
	(void)arg;
	if (strcmp(name, "system.multicall") == 0)
		xmlrpc_env_set_fault(env, XMLRPC_NO_SUCH_METHOD_ERROR,
				     "system.multicall is not supported: one "
				     "call per request");
}

static int add_method(struct listener *l, const char *name, call_method_fn fn,
		      void *ctx, const char *help)
{
	struct metrics_server *ms = &l->s->metrics;
	struct xmlrpc_method_info3 mi;
	struct server_method *m;
	xmlrpc_env env;
	int rv;

	if (l->n_methods == SERVER_MAX_METHODS)
		return -1;
	m = &l->methods[l->n_methods++];
	m->fn = fn;
	m->ctx = ctx;
	m->metric = -1;
	if (l->kind == LISTENER_CLIENT && ms->n_methods < METRICS_MAX_METHODS) {
		m->metric = (int)ms->n_methods;
		ms->method_names[ms->n_methods++] = name;
	}
	memset(&mi, 0, sizeof(mi));
	mi.methodName = name;
	mi.methodFunction = run_method;
	mi.serverInfo = m;
	mi.help = help;
	xmlrpc_env_init(&env);
	xmlrpc_registry_add_method3(&env, l->registry, &mi);
	if (!env.fault_occurred && l->registry_ro != NULL) {
		struct server_method *ro = &l->ro_methods[l->n_methods - 1];
		ro->fn = console_refuse;
		ro->ctx = (void *)name;
		ro->metric = -1;
		mi.serverInfo = console_method_reads(name) ? m : ro;
		xmlrpc_registry_add_method3(&env, l->registry_ro, &mi);
	}
	rv = env.fault_occurred ? -1 : 0;
	xmlrpc_env_clean(&env);
	return rv;
}

static unsigned pool_size(const struct config *cfg)
{
	long n;

	if (cfg->http_threads > 0)
		return cfg->http_threads;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 2 ? 2 : n > 16 ? 16 : (unsigned)n;
}

/* Binds the listener's address (only that address): a port in use is a
 * clear error before anything else starts. */
static int listener_bind(struct listener *l, const char *host, uint16_t port,
			 const char *address, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	int one = 1;

	l->fd = -1;
	if (resolve(host, port, &ss, &sslen, err, errlen) != 0)
		return -1;
	l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->fd < 0 ||
	    setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) !=
		0 ||
	    bind(l->fd, (struct sockaddr *)&ss, sslen) != 0 ||
	    listen(l->fd, 1024) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", address,
			 strerror(errno));
		return -1;
	}
	snprintf(l->address, sizeof(l->address), "%s", address);
	return 0;
}

/* A whole PEM file, NUL-terminated (MHD takes strings). */
static char *read_pem(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, n;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = xmalloc(1024 * 1024 + 1);
	while ((n = fread(buf + len, 1, 1024 * 1024 - len, f)) > 0)
		len += n;
	if (ferror(f) || len == 1024 * 1024 || len == 0) {
		snprintf(err, errlen, "%s: %s", path,
			 ferror(f)  ? strerror(errno)
			 : len == 0 ? "empty"
				    : "larger than 1 MiB");
		free(buf);
		buf = NULL;
	} else {
		buf[len] = '\0';
	}
	fclose(f);
	return buf;
}

/* Starts the listener's pool of event-loop threads on its socket. */
static int listener_start(struct listener *l, unsigned threads,
			  unsigned max_conns, unsigned per_ip, char *err,
			  size_t errlen)
{
	const struct config *cfg = l->s->cfg;
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO;
	struct server *s = l->s;

	if (cfg->tls)
		flags |= MHD_USE_TLS;
	l->mhd = MHD_start_daemon(
	    flags, 0, l->kind == LISTENER_PEER ? peer_accept : NULL, l,
	    access_handler, l, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)l->fd,
	    MHD_OPTION_HTTPS_MEM_KEY, cfg->tls ? s->tls_key : NULL,
	    MHD_OPTION_HTTPS_MEM_CERT, cfg->tls ? s->tls_cert : NULL,
	    MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT,
	    max_conns, MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->connection_timeout_s,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
	    MHD_OPTION_NOTIFY_COMPLETED, request_completed, l, MHD_OPTION_END);
	if (l->mhd == NULL) {
		snprintf(err, errlen, "cannot start the HTTP server on %s",
			 l->address);
		return -1;
	}
	return 0;
}

int server_create(const struct config *cfg, const struct config_node *self,
		  struct server **out, char *err, size_t errlen)
{
	struct server *s = xcalloc(1, sizeof(*s));

	pthread_mutex_init(&s->peer.members_lock, NULL);
	pthread_mutex_init(&s->metrics_lock, NULL);

	*out = NULL;
	s->cfg = cfg;
	s->self = self;
	sem_init(&s->stop, 0, 0);
	s->client.s = s->peer.s = s;
	s->client.kind = LISTENER_CLIENT;
	s->peer.kind = LISTENER_PEER;
	s->client.fd = s->peer.fd = -1;
	s->console = console_new(cfg, self);
	if (cfg->tls) {
		char path[CONFIG_PATH_MAX];
		if (config_node_path(cfg->tls_cert, self->id, path,
				     sizeof(path), err, errlen) != 0 ||
		    (s->tls_cert = read_pem(path, err, errlen)) == NULL ||
		    config_node_path(cfg->tls_key, self->id, path, sizeof(path),
				     err, errlen) != 0 ||
		    (s->tls_key = read_pem(path, err, errlen)) == NULL) {
			server_free(s);
			return -1;
		}
	}
	if (listener_bind(&s->peer, self->peer_host, self->peer_port,
			  self->peer_address, err, errlen) != 0 ||
	    listener_bind(&s->client, self->host, self->port, self->address,
			  err, errlen) != 0) {
		server_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

/* The configuration changed (node's lock held): the peer listener's
 * accept list follows it (thesis §4.1). */
static void conf_hook(void *arg, const struct raft_conf *c)
{
	struct server *s = arg;
	struct listener *l = &s->peer;
	uint32_t i;

	console_set_conf(s->console, c);
	pthread_mutex_lock(&l->members_lock);
	l->n_members = l->n_boot;
	/* With a secret, every frame is authenticated (peerauth.h) and the
	 * address adds nothing but a lock-out: a node whose log lags does
	 * not know the members added since, and one of them may lead.
	 * Without one (insecure), the members' addresses, numeric only (no
	 * name lookup under the node's lock), and any address while this
	 * node is not a member yet. */
	l->accept_any =
	    s->cfg->has_secret || raft_conf_member(c, s->self->id) == NULL;
	for (i = 0; i < c->n && !l->accept_any; i++) {
		char host[CONFIG_HOST_MAX], why[256];
		uint16_t port;
		socklen_t len;
		if (c->m[i].peer_address[0] == '\0' ||
		    l->n_members == sizeof(l->members) / sizeof(l->members[0]))
			continue; /* the bootstrap's: already there */
		if (addr_parse(c->m[i].peer_address, host, sizeof(host), &port,
			       why, sizeof(why)) != 0 ||
		    resolve_numeric(host, port, &l->members[l->n_members], &len,
				    why, sizeof(why)) != 0) {
			log_warn("peer %u: %s", c->m[i].id, why);
			continue;
		}
		l->n_members++;
	}
	pthread_mutex_unlock(&l->members_lock);
}

int server_start(struct server *s, struct node *node, char *err, size_t errlen)
{
	const struct config *cfg = s->cfg;
	xmlrpc_env env;
	size_t i;

	s->node = node;
	bytes_out_counter = &s->metrics.bytes_out;
	cors_console = s->console;
	xmlrpc_env_init(&env);
	s->client.registry = xmlrpc_registry_new(&env);
	if (!env.fault_occurred)
		s->client.registry_ro = xmlrpc_registry_new(&env);
	if (!env.fault_occurred)
		s->peer.registry = xmlrpc_registry_new(&env);
	if (env.fault_occurred) {
		snprintf(err, errlen, "xmlrpc registry: %s", env.fault_string);
		xmlrpc_env_clean(&env);
		return -1;
	}
	xmlrpc_registry_disable_introspection(s->client.registry);
	xmlrpc_registry_disable_introspection(s->client.registry_ro);
	xmlrpc_registry_disable_introspection(s->peer.registry);
	xmlrpc_registry_set_preinvoke_method(&env, s->client.registry,
					     refuse_multicall, NULL);
	if (!env.fault_occurred)
		xmlrpc_registry_set_preinvoke_method(
		    &env, s->client.registry_ro, refuse_multicall, NULL);
	if (!env.fault_occurred)
		xmlrpc_registry_set_preinvoke_method(&env, s->peer.registry,
						     refuse_multicall, NULL);
	if (env.fault_occurred) {
		snprintf(err, errlen, "xmlrpc registry: %s", env.fault_string);
		xmlrpc_env_clean(&env);
		return -1;
	}
	xmlrpc_env_clean(&env);
	for (i = 0; i < methods_client_count; i++) {
		s->client_ctx[i].node = node;
		s->client_ctx[i].def = &methods_client[i];
		if (add_method(&s->client, methods_client[i].name,
			       methods_client[i].fn, &s->client_ctx[i],
			       methods_client[i].help) != 0)
			goto fail_method;
	}
	s->peer_rpc = peer_rpc_new(node, cfg, s->self->id);
	for (i = 0; i < peer_rpc_methods_count; i++)
		if (add_method(&s->peer, peer_rpc_methods[i].name,
			       peer_rpc_methods[i].fn, s->peer_rpc,
			       peer_rpc_methods[i].help) != 0)
			goto fail_method;
	/* The members' addresses, for the peer listener's accept policy. */
	for (i = 0; i < cfg->n_nodes; i++) {
		socklen_t len;
		char why[256];
		if (resolve(cfg->nodes[i].host, cfg->nodes[i].port,
			    &s->peer.members[s->peer.n_members], &len, why,
			    sizeof(why)) == 0)
			s->peer.n_members++;
		else
			log_warn("peer %u: %s", cfg->nodes[i].id, why);
	}
	s->peer.n_boot = s->peer.n_members;
	node_set_conf_hook(node, conf_hook, s);
	if (listener_start(&s->peer, 2,
			   (unsigned)CONFIG_MAX_NODES *
			       SERVER_PEER_CONNS_PER_MEMBER,
			   0, err, errlen) != 0 ||
	    listener_start(&s->client, pool_size(cfg), cfg->max_connections,
			   cfg->max_connections_per_ip, err, errlen) != 0)
		return -1;
	return 0;
fail_method:
	snprintf(err, errlen, "xmlrpc registry: cannot add a method");
	return -1;
}

void server_run(struct server *s)
{
	while (sem_wait(&s->stop) != 0 && errno == EINTR)
		;
}

void server_terminate(struct server *s)
{
	if (!atomic_exchange(&s->terminated, true))
		sem_post(&s->stop);
}

void server_free(struct server *s)
{
	int i;

	if (s == NULL)
		return;
	/* The node outlives the server: no more configuration news here. */
	if (s->node != NULL)
		node_set_conf_hook(s->node, NULL, NULL);
	/* Stop accepting; the node has stopped (node_begin_stop answers
	 * every waiting operation), so parked calls are being resumed: give
	 * them a moment to be sent, as MHD must not stop with one parked. */
	if (s->client.mhd)
		MHD_quiesce_daemon(s->client.mhd);
	if (s->peer.mhd)
		MHD_quiesce_daemon(s->peer.mhd);
	for (i = 0; i < 1000 && atomic_load(&s->parked) > 0; i++)
		usleep(1000);
	if (atomic_load(&s->parked) > 0)
		log_warn("%ld calls still parked at shutdown",
			 atomic_load(&s->parked));
	if (s->client.mhd)
		MHD_stop_daemon(s->client.mhd);
	if (s->peer.mhd)
		MHD_stop_daemon(s->peer.mhd);
	/* MHD_quiesce_daemon left the listening sockets to us. */
	if (s->client.fd >= 0)
		close(s->client.fd);
	if (s->peer.fd >= 0)
		close(s->peer.fd);
	if (s->client.registry)
		xmlrpc_registry_free(s->client.registry);
	if (s->client.registry_ro)
		xmlrpc_registry_free(s->client.registry_ro);
	if (s->peer.registry)
		xmlrpc_registry_free(s->peer.registry);
	peer_rpc_free(s->peer_rpc);
	if (cors_console == s->console)
		cors_console = NULL;
	console_free(s->console);
	sem_destroy(&s->stop);
	pthread_mutex_destroy(&s->metrics_lock);
	free(s->tls_cert);
	if (s->tls_key != NULL) /* a private key: not left in freed memory */
		memset(s->tls_key, 0, strlen(s->tls_key));
	free(s->tls_key);
	free(s);
}
