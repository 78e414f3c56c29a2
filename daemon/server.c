/* server.c: raftd's HTTP server for XML-RPC, on Abyss: binding, the XML
 * guard, and the glue that runs the methods (methods.c, peer_rpc.c) on
 * Abyss's connection threads.
 *
 * Built on Abyss directly (not xmlrpc_server_abyss_create) so that raftd
 * can bind the configured address only, tune the connection limits, and
 * put a guard in front of the XML parser (docs/API.md, "Limits"):
 *   - any body containing "<!" (a DTD: the entity-expansion bomb), or
 *     encoded in UTF-16/32, is refused with a fault before expat sees it;
 *   - 256 connections, 3 s keep-alive, unlimited requests per connection,
 *     a 10 s whole-request deadline: an idle keep-alive flood cannot lock
 *     others out for long;
 *   - the processor runs with a 1 MiB stack (handler threads otherwise
 *     get ~131 KiB).
 * Abyss gives each connection a thread and wants the answer from the
 * method's return, so a call here is parked on its thread until the
 * method answers it (struct call). */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <xmlrpc-c/abyss.h>

#include <xmlrpc-c/base.h>
#include <xmlrpc-c/server.h>
#include <xmlrpc-c/server_abyss.h>

#include "api.h"
#include "call.h"
#include "log.h"
#include "methods.h"
#include "peer_rpc.h"
#include "xalloc.h"

#define SERVER_MAX_CONN 256
#define SERVER_KEEPALIVE_S 3
#define SERVER_TIMEOUT_S 10
#define SERVER_STACK (1024u * 1024u)

/* What one registered method runs: its function and context. */
struct server_method {
	call_method_fn fn;
	void *ctx;
};

struct server {
	struct node *node;
	const struct config *cfg;
	xmlrpc_registry *registry;
	TChanSwitch *chan;
	TServer abyss;
	bool created;
	struct methods_ctx client_ctx[32];
	struct server_method methods[64];
	size_t n_methods;
	struct peer_rpc *peer_rpc;
};

/* ---- a call, parked on its connection thread ------------------------------
 */

struct call {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	call_cont_fn cont; /* to run on the connection's thread */
	void *cont_arg;
	xmlrpc_value *result;
	int code;
	char msg[512];
};

void call_return(struct call *c, xmlrpc_value *result)
{
	pthread_mutex_lock(&c->mu);
	c->result = result;
	c->done = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static void call_set_fault(struct call *c, int code, const char *msg)
{
	pthread_mutex_lock(&c->mu);
	c->code = code;
	snprintf(c->msg, sizeof(c->msg), "%s", msg);
	c->done = true;
	pthread_cond_signal(&c->cv);
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
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

/* xmlrpc_method2 for every method: runs it, waits for its answer. */
static xmlrpc_value *run_method(xmlrpc_env *env, xmlrpc_value *params,
				void *info, void *session)
{
	const struct server_method *m = info;
	struct call c;
	xmlrpc_value *out = NULL;

	memset(&c, 0, sizeof(c));
	pthread_mutex_init(&c.mu, NULL);
	pthread_cond_init(&c.cv, NULL);
	m->fn(&c, params, m->ctx);
	pthread_mutex_lock(&c.mu);
	while (!c.done) {
		if (c.cont != NULL) {
			call_cont_fn fn = c.cont;
			c.cont = NULL;
			pthread_mutex_unlock(&c.mu);
			fn(&c, c.cont_arg);
			pthread_mutex_lock(&c.mu);
			continue;
		}
		pthread_cond_wait(&c.cv, &c.mu);
	}
	pthread_mutex_unlock(&c.mu);
	if (c.result != NULL)
		out = c.result;
	else
		xmlrpc_env_set_fault(env, c.code ? c.code : API_FAULT_INVALID,
				     c.msg);
	pthread_cond_destroy(&c.cv);
	pthread_mutex_destroy(&c.mu);
	return out;
}

static int add_method(xmlrpc_env *env, struct server *s, const char *name,
		      call_method_fn fn, void *ctx, const char *help)
{
	struct xmlrpc_method_info3 mi;
	struct server_method *m;

	if (s->n_methods == sizeof(s->methods) / sizeof(s->methods[0]))
		return -1;
	m = &s->methods[s->n_methods++];
	m->fn = fn;
	m->ctx = ctx;
	memset(&mi, 0, sizeof(mi));
	mi.methodName = name;
	mi.methodFunction = run_method;
	mi.serverInfo = m;
	mi.stackSize = SERVER_STACK;
	mi.help = help;
	xmlrpc_registry_add_method3(env, s->registry, &mi);
	return env->fault_occurred ? -1 : 0;
}

/* ---- the XML guard and the server -------------------------------------------
 */

static void guard_processor(xmlrpc_env *env, void *arg, const char *xml,
			    size_t len, TSession *session,
			    xmlrpc_mem_block **out)
{
	struct server *s = arg;

	/* docs/XMLRPC-C.md §3: expat expands internal entities; a DTD has no
	 * place in XML-RPC and clients escape '<' in strings. */
	/* A UTF-16 or UTF-32 body (a byte-order mark, or NUL bytes) would
	 * hide "<!" from the byte search below, so only ASCII-compatible
	 * encodings pass. */
	if (memmem(xml, len, "<!", 2) != NULL || memchr(xml, '\0', len) ||
	    (len >= 2 && (((unsigned char)xml[0] == 0xFE &&
			   (unsigned char)xml[1] == 0xFF) ||
			  ((unsigned char)xml[0] == 0xFF &&
			   (unsigned char)xml[1] == 0xFE)))) {
		xmlrpc_env fenv;
		xmlrpc_env_init(&fenv);
		xmlrpc_env_set_fault(&fenv, XMLRPC_PARSE_ERROR,
				     "DTDs, entity declarations and UTF-16/32 "
				     "bodies are not accepted");
		*out = XMLRPC_MEMBLOCK_NEW(char, env, 0);
		if (!env->fault_occurred)
			xmlrpc_serialize_fault(env, *out, &fenv);
		xmlrpc_env_clean(&fenv);
		return;
	}
	xmlrpc_registry_process_call2(env, s->registry, xml, len, session, out);
}

static int resolve(const char *host, uint16_t port, struct sockaddr_storage *ss,
		   socklen_t *len, int *family, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	char portstr[8];
	int rv;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%u", port);
	rv = getaddrinfo(host, portstr, &hints, &res);
	if (rv != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host,
			 gai_strerror(rv));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	*family = res->ai_family;
	freeaddrinfo(res);
	return 0;
}

int server_create(const struct config *cfg, const struct config_node *self,
		  struct node *node, struct server **out, char *err,
		  size_t errlen)
{
	struct server *s;
	xmlrpc_env env;
	xmlrpc_server_abyss_handler_parms hp;
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	const char *error = NULL;
	int family = AF_INET;
	size_t i;

	*out = NULL;
	s = xcalloc(1, sizeof(*s));
	s->node = node;
	s->cfg = cfg;
	xmlrpc_env_init(&env);
	s->registry = xmlrpc_registry_new(&env);
	if (env.fault_occurred)
		goto fail_env;
	xmlrpc_registry_disable_introspection(s->registry);
	for (i = 0; i < methods_client_count; i++) {
		s->client_ctx[i].node = node;
		s->client_ctx[i].def = &methods_client[i];
		if (add_method(&env, s, methods_client[i].name,
			       methods_client[i].fn, &s->client_ctx[i],
			       methods_client[i].help) != 0)
			goto fail_env;
	}
	s->peer_rpc = peer_rpc_new(node, cfg, self->id);
	for (i = 0; i < peer_rpc_methods_count; i++)
		if (add_method(&env, s, peer_rpc_methods[i].name,
			       peer_rpc_methods[i].fn, s->peer_rpc,
			       peer_rpc_methods[i].help) != 0)
			goto fail_env;

	if (resolve(self->host, self->port, &ss, &sslen, &family, err, errlen) <
	    0)
		goto fail;
	/* Bind the configured address only, never 0.0.0.0 (docs/XMLRPC-C.md
	 * §2). */
	ChanSwitchUnixCreate2(family, (struct sockaddr *)&ss, sslen, &s->chan,
			      &error);
	if (error != NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", self->address,
			 error);
		free((void *)error);
		goto fail;
	}
	ServerCreateSwitch(&s->abyss, s->chan, &error);
	if (error != NULL) {
		snprintf(err, errlen, "abyss server: %s", error);
		free((void *)error);
		goto fail;
	}
	s->created = true;
	ServerSetName(&s->abyss, "raftd");
	ServerSetMaxConn(&s->abyss, SERVER_MAX_CONN);
	ServerSetMaxConnBacklog(&s->abyss, SERVER_MAX_CONN);
	ServerSetKeepaliveTimeout(&s->abyss, SERVER_KEEPALIVE_S);
	ServerSetKeepaliveMaxConn(&s->abyss, 1000000);
	ServerSetTimeout(&s->abyss, SERVER_TIMEOUT_S);
	ServerSetAdvertise(&s->abyss, 0);

	memset(&hp, 0, sizeof(hp));
	hp.xml_processor = guard_processor;
	hp.xml_processor_arg = s;
	hp.xml_processor_max_stack = SERVER_STACK;
	hp.uri_path = "/RPC2";
	hp.chunk_response = 0;
	xmlrpc_server_abyss_set_handler3(&env, &s->abyss, &hp,
					 XMLRPC_AHPSIZE(chunk_response));
	if (env.fault_occurred)
		goto fail_env;
	ServerInit2(&s->abyss, &error);
	if (error != NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", self->address,
			 error);
		free((void *)error);
		goto fail;
	}
	xmlrpc_env_clean(&env);
	*out = s;
	return 0;
fail_env:
	snprintf(err, errlen, "xmlrpc server: %s", env.fault_string);
fail:
	xmlrpc_env_clean(&env);
	server_free(s);
	return -1;
}

void server_run(struct server *s) { ServerRun(&s->abyss); }

void server_terminate(struct server *s) { ServerTerminate(&s->abyss); }

void server_free(struct server *s)
{
	if (s == NULL)
		return;
	if (s->created)
		ServerFree(&s->abyss);
	if (s->chan)
		ChanSwitchDestroy(s->chan);
	if (s->registry)
		xmlrpc_registry_free(s->registry);
	peer_rpc_free(s->peer_rpc);
	free(s);
}
