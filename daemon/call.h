/* call.h: one XML-RPC call in progress, between the HTTP server (which
 * owns the connection and the call) and the method that answers it.
 *
 * A method may answer before it returns, or later from another thread
 * (a write answers when its entry is applied), so the server can park a
 * call without parking a thread.  Exactly one of call_return() and
 * call_fault() is called for each call, from any thread, with no lock of
 * the node held. */
#ifndef RAFTD_CALL_H
#define RAFTD_CALL_H

#include <xmlrpc-c/base.h>

struct call;

/* Answers with `result`; takes the reference. */
void call_return(struct call *c, xmlrpc_value *result);
/* Answers with a fault (api.h's codes, or xmlrpc-c's own). */
void call_fault(struct call *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same with an xmlrpc-c env that holds a fault. */
void call_fault_env(struct call *c, const xmlrpc_env *env);

/* Runs fn(c, arg) later on the call's own thread of service (the server
 * decides which: the connection's).  For completions, which run on the
 * node's threads (the timer, a peer's sender) and must stay cheap: they
 * hand the building of a large answer over with this.  fn answers c. */
typedef void (*call_cont_fn)(struct call *c, void *arg);
void call_continue(struct call *c, call_cont_fn fn, void *arg);

/* A method: parses params (only read, during the call) and answers c,
 * now or later.  `ctx` is what the method was registered with. */
typedef void (*call_method_fn)(struct call *c, xmlrpc_value *params, void *ctx);

#endif /* RAFTD_CALL_H */
